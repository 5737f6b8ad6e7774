using System.Text;
using CurWorkflows.Workflows.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace CurWorkflows.Service.Extensions;

/// <summary>Lines other start-up steps want shown once the server listens (the bootstrap key, the demo's commands).</summary>
public sealed class StartupNotes
{
    private readonly List<string> lines = [];

    public string? BootstrapApiKey { get; set; }

    public Guid? DefaultOrganizationId { get; set; }

    public void Add(string line)
    {
        lock (lines)
        {
            lines.Add(line);
        }
    }

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (lines)
            {
                return [.. lines];
            }
        }
    }
}

/// <summary>Prints where things are once the server listens. Console, not the logger: it is for the person at the terminal.</summary>
internal sealed class StartupBanner(
    IHostApplicationLifetime lifetime,
    IServer server,
    ServiceStartup startup,
    StartupNotes notes,
    IOptions<ServiceHostOptions> hostOptions,
    IOptions<TemporalOptions> temporalOptions,
    IConfiguration configuration) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(() => Console.Out.Write(Render()));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public string ApiAddress =>
        server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()?.Replace("://[::]", "://localhost", StringComparison.Ordinal)
            .Replace("://0.0.0.0", "://localhost", StringComparison.Ordinal)
            .Replace("://+", "://localhost", StringComparison.Ordinal) ?? "(no HTTP address)";

    private string Render()
    {
        var temporal = temporalOptions.Value;
        var text = new StringBuilder();
        text.AppendLine();
        text.AppendLine($"CurWorkflows is running ({hostOptions.Value.Role}).");
        if (hostOptions.Value.RunsApi)
        {
            text.AppendLine($"  API:          {ApiAddress}/api/v1");
            text.AppendLine($"  OpenAPI UI:   {ApiAddress}/scalar/v1   (document: {ApiAddress}/openapi/v1.json)");
        }

        text.AppendLine($"  Health:       {ApiAddress}/health/ready");
        text.AppendLine($"  Temporal:     {temporal.Address} (namespace {temporal.Namespace}{(startup.Temporal is null ? "" : ", embedded dev server")})");
        if (!string.IsNullOrWhiteSpace(temporal.UiBaseUrl))
        {
            text.AppendLine($"  Temporal UI:  {temporal.UiBaseUrl}");
        }

        if (ServiceTelemetry.Describe(configuration) is { } telemetry)
        {
            text.AppendLine($"  Telemetry:    {telemetry}");
        }

        if (startup.Temporal?.UnwatchedBecause is { } unwatched)
        {
            text.AppendLine($"  Warning:      {unwatched}");
        }

        if (notes.BootstrapApiKey is { } key)
        {
            text.AppendLine();
            text.AppendLine("  Bootstrap API key (shown once, stored only as a hash):");
            text.AppendLine($"    {key}");
            text.AppendLine($"  Try: curl -H \"Authorization: Bearer {key}\" {ApiAddress}/api/v1/integrations");
        }

        foreach (var line in notes.Lines)
        {
            text.AppendLine(line);
        }

        text.AppendLine();
        text.AppendLine("Press Ctrl+C to stop.");
        return text.ToString();
    }
}
