using System.Net.Http.Headers;
using CurWorkflows.Service.Extensions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CurWorkflows.Service.Tests.Infrastructure;

/// <summary>The service as Program.cs builds it, on a real Kestrel at a free loopback port, with captured logs.</summary>
public sealed class ServiceTestHost : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly ServiceStartup startup;

    private ServiceTestHost(WebApplication app, ServiceStartup startup, CapturedLogs logs, Uri address, string contentRoot)
    {
        this.app = app;
        this.startup = startup;
        Logs = logs;
        Address = address;
        ContentRoot = contentRoot;
    }

    public CapturedLogs Logs { get; }

    public Uri Address { get; }

    public string ContentRoot { get; }

    public IServiceProvider Services => app.Services;

    public ServiceStartup Startup => startup;

    public static async Task<ServiceTestHost> StartAsync(
        IDictionary<string, string?> settings, string? contentRoot = null, Action<WebApplicationBuilder>? configure = null)
    {
        contentRoot ??= TestEnvironment.NewTempDirectory("host");
        var logs = new CapturedLogs();
        var args = settings.Where(s => s.Value is not null).Select(s => $"--{s.Key}={s.Value}").ToArray();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = ServiceArguments.Normalize(args),
            ContentRootPath = contentRoot,
            EnvironmentName = "Testing",
        });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Trace);
        builder.Logging.AddProvider(logs);
        configure?.Invoke(builder);

        var startup = await builder.AddCurWorkflowsServiceAsync();
        WebApplication? app = null;
        try
        {
            app = builder.Build();
            app.MapCurWorkflowsService();
            await app.StartAsync();
            var address = new Uri(app.Urls.First());
            return new ServiceTestHost(app, startup, logs, address, contentRoot);
        }
        catch
        {
            if (app is not null)
            {
                await app.DisposeAsync();
            }

            await startup.DisposeAsync();
            throw;
        }
    }

    public HttpClient CreateClient(string? apiKey = null)
    {
        var client = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(60) };
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        return client;
    }

    public T GetRequiredService<T>()
        where T : notnull => app.Services.GetRequiredService<T>();

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
        await startup.DisposeAsync();
    }
}
