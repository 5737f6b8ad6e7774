using CurWorkflows.Workflows.Hosting;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace CurWorkflows.Service.Extensions;

/// <summary>
/// The process's own metrics, traces and logs, pushed over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (environment
/// or configuration; <c>OTEL_EXPORTER_OTLP_PROTOCOL</c>, <c>OTEL_EXPORTER_OTLP_HEADERS</c>, <c>OTEL_METRIC_EXPORT_INTERVAL</c>,
/// <c>OTEL_BSP_SCHEDULE_DELAY</c> and <c>OTEL_SERVICE_NAME</c> mean what the OpenTelemetry specification says, and
/// <c>OTEL_METRICS_EXPORTER=none</c>, <c>OTEL_TRACES_EXPORTER=none</c> or <c>OTEL_LOGS_EXPORTER=none</c> leaves a signal
/// out).
/// <list type="bullet">
/// <item>Metrics: the HTTP server and Kestrel, the outgoing HTTP calls (AWS), the runtime (GC, heap, thread pool, CPU,
/// exceptions) and EF Core.</item>
/// <item>Traces: API requests (not the health probes), one span per activity attempt
/// (<see cref="ActivityTracingInterceptor"/>) with the AWS calls it makes beneath it, and PostgreSQL commands.
/// URL query values are redacted; headers and bodies are not recorded.</item>
/// <item>Logs: what the process logs at its configured levels, with the trace and span of the request or activity
/// attempt that wrote it.</item>
/// </list>
/// The Temporal SDK's metrics and the collection counters have their own settings (<c>Temporal:MetricsPrometheusAddress</c>,
/// <c>Temporal:MetricsOtlpEndpoint</c>), because the SDK's core exports them itself.
/// </summary>
public static class ServiceTelemetry
{
    public const string OtlpEndpointKey = "OTEL_EXPORTER_OTLP_ENDPOINT";

    public const string DefaultServiceName = "curworkflows";

    /// <summary>The meters the runtime, ASP.NET Core and EF Core publish their instruments on.</summary>
    public static readonly IReadOnlyList<string> Meters =
    [
        "Microsoft.AspNetCore.Hosting",
        "Microsoft.AspNetCore.Server.Kestrel",
        "Microsoft.AspNetCore.Diagnostics",
        "Microsoft.AspNetCore.Authentication",
        "System.Net.Http",
        "System.Net.NameResolution",
        "System.Runtime",
        "Microsoft.EntityFrameworkCore",
    ];

    /// <summary>The activity sources traced besides ASP.NET Core's and HttpClient's instrumentation.</summary>
    public static readonly IReadOnlyList<string> ActivitySources = [ActivityTracingInterceptor.SourceName, "Npgsql"];

    public static void AddServiceTelemetry(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        if (SignalsToExport(configuration) is not { } signals)
        {
            return;
        }

        // One exporter per signal rather than UseOtlpExporter, which sets up all three: a signal turned off has no
        // provider at all. Each exporter reads the OTEL_EXPORTER_OTLP_* settings and appends its signal's path.
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource =>
            {
                // OTEL_SERVICE_NAME, when set, names the service; the exporter reads it itself.
                if (string.IsNullOrWhiteSpace(configuration["OTEL_SERVICE_NAME"]))
                {
                    resource.AddService(DefaultServiceName);
                }
            });
        if (signals.Metrics)
        {
            telemetry.WithMetrics(m => m.AddMeter([.. Meters]).AddOtlpExporter());
        }

        if (signals.Traces)
        {
            telemetry.WithTracing(t => t
                .AddAspNetCoreInstrumentation(o => o.Filter = context => !context.Request.Path.StartsWithSegments("/health", StringComparison.OrdinalIgnoreCase))
                .AddHttpClientInstrumentation()
                .AddSource([.. ActivitySources])
                .AddOtlpExporter());
        }

        if (signals.Logs)
        {
            telemetry.WithLogging(l => l.AddOtlpExporter());
        }
    }

    /// <summary>
    /// What the start-up banner says about telemetry: the signals pushed and where, or null when nothing is. The
    /// endpoint is shown without user information, path or query, which may hold credentials.
    /// </summary>
    public static string? Describe(IConfiguration configuration)
    {
        if (SignalsToExport(configuration) is not { } signals)
        {
            return null;
        }

        string[] names =
        [
            .. signals.Metrics ? ["metrics"] : Array.Empty<string>(),
            .. signals.Traces ? ["traces"] : Array.Empty<string>(),
            .. signals.Logs ? ["logs"] : Array.Empty<string>(),
        ];
        var protocol = configuration["OTEL_EXPORTER_OTLP_PROTOCOL"] is { Length: > 0 } configured ? configured.Trim() : "grpc";
        var endpoint = configuration[OtlpEndpointKey]!.Trim();
        var where = Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) ? $"{uri.Scheme}://{uri.Authority}" : "(an endpoint that is not a URL)";
        return $"{string.Join(", ", names)} over OTLP ({protocol}) to {where}";
    }

    /// <summary>The signals to push: none (null) without an endpoint; each unless its <c>OTEL_*_EXPORTER</c> is <c>none</c>.</summary>
    private static Signals? SignalsToExport(IConfiguration configuration)
    {
        var signals = new Signals(
            !IsNone(configuration["OTEL_METRICS_EXPORTER"]), !IsNone(configuration["OTEL_TRACES_EXPORTER"]), !IsNone(configuration["OTEL_LOGS_EXPORTER"]));
        return string.IsNullOrWhiteSpace(configuration[OtlpEndpointKey]) || !(signals.Metrics || signals.Traces || signals.Logs) ? null : signals;
    }

    private static bool IsNone(string? exporter) => string.Equals(exporter?.Trim(), "none", StringComparison.OrdinalIgnoreCase);

    private sealed record Signals(bool Metrics, bool Traces, bool Logs);
}
