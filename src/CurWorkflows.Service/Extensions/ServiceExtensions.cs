using System.Text.Json;
using System.Text.Json.Serialization;
using CurWorkflows.Service.Temporal;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using Scalar.AspNetCore;
using Temporalio.Extensions.Hosting;

namespace CurWorkflows.Service.Extensions;

public static class ServiceExtensions
{
    /// <summary>
    /// Wires the service. Starts what must exist before the host is built (the embedded Temporal dev server when
    /// <c>Temporal:Address</c> is empty); the returned object stops it when disposed.
    /// </summary>
    public static async Task<ServiceStartup> AddCurWorkflowsServiceAsync(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        var configuration = builder.Configuration;

        services.AddOptions<ServiceHostOptions>().BindConfiguration(ServiceHostOptions.SectionName).ValidateOnStart();
        services.AddOptions<ApiOptions>().BindConfiguration(ApiOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<TemporalHostOptions>().BindConfiguration(TemporalHostOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();

        var hostOptions = configuration.GetSection(ServiceHostOptions.SectionName).Get<ServiceHostOptions>() ?? new();
        var apiOptions = configuration.GetSection(ApiOptions.SectionName).Get<ApiOptions>() ?? new();
        var temporalOptions = configuration.GetSection(TemporalHostOptions.SectionName).Get<TemporalHostOptions>() ?? new();

        var startup = new ServiceStartup();
        try
        {
            if (temporalOptions.IsEmbedded)
            {
                var server = await EmbeddedTemporalServer.StartAsync(temporalOptions, builder.Environment.ContentRootPath);
                startup.Temporal = server;
                configuration["Temporal:Address"] = server.Address;
                if (string.IsNullOrWhiteSpace(temporalOptions.UiBaseUrl))
                {
                    configuration["Temporal:UiBaseUrl"] = server.UiUrl;
                }

                temporalOptions.Address = server.Address;
            }

            builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = apiOptions.MaxRequestBodyBytes);
            services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
            services.ConfigureHttpJsonOptions(options => ConfigureJson(options.SerializerOptions));
            services.AddProblemDetails();
            services.AddExceptionHandler<ProblemExceptionHandler>();
            services.AddOpenApi();

            services.AddTemporalClient(temporalOptions.Address, temporalOptions.Namespace);
            services.AddHealthChecks()
                .AddCheck<TemporalHealthCheck>("temporal", tags: ["ready"]);

            services.AddSingleton(startup);
            services.AddSingleton<StartupNotes>();
            services.AddHostedService<StartupBanner>();
            _ = hostOptions;
            return startup;
        }
        catch
        {
            await startup.DisposeAsync();
            throw;
        }
    }

    public static WebApplication MapCurWorkflowsService(this WebApplication app)
    {
        var hostOptions = app.Services.GetRequiredService<IOptions<ServiceHostOptions>>().Value;
        app.UseExceptionHandler();
        app.UseStatusCodePages();

        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains("ready"),
            ResponseWriter = HealthResponses.WriteAsync,
        });

        if (hostOptions.RunsApi)
        {
            app.MapOpenApi();
            app.MapScalarApiReference();
        }

        return app;
    }

    public static void ConfigureJson(JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        options.DictionaryKeyPolicy = null;
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower));
        options.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
    }
}

/// <summary>What was started before the host (embedded Temporal, the demo's local AWS endpoint), stopped on dispose.</summary>
public sealed class ServiceStartup : IAsyncDisposable
{
    public EmbeddedTemporalServer? Temporal { get; set; }

    public List<IAsyncDisposable> Others { get; } = [];

    public async ValueTask DisposeAsync()
    {
        foreach (var other in Enumerable.Reverse(Others))
        {
            await other.DisposeAsync();
        }

        if (Temporal is not null)
        {
            await Temporal.DisposeAsync();
        }
    }
}
