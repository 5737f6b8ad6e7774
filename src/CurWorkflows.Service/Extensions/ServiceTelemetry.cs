using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace CurWorkflows.Service.Extensions;

/// <summary>
/// The process's own metrics, pushed over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (environment or
/// configuration; <c>OTEL_EXPORTER_OTLP_PROTOCOL</c>, <c>OTEL_EXPORTER_OTLP_HEADERS</c>, <c>OTEL_METRIC_EXPORT_INTERVAL</c>
/// and <c>OTEL_SERVICE_NAME</c> mean what the OpenTelemetry specification says): the HTTP server and Kestrel, the
/// outgoing HTTP calls (AWS), the runtime (GC, heap, thread pool, CPU, exceptions) and EF Core. The Temporal SDK's
/// metrics and the collection counters have their own settings (<c>Temporal:MetricsPrometheusAddress</c>,
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

    public static void AddServiceTelemetry(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        if (string.IsNullOrWhiteSpace(configuration[OtlpEndpointKey]))
        {
            return;
        }

        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource =>
            {
                // OTEL_SERVICE_NAME, when set, names the service; the exporter reads it itself.
                if (string.IsNullOrWhiteSpace(configuration["OTEL_SERVICE_NAME"]))
                {
                    resource.AddService(DefaultServiceName);
                }
            })
            .WithMetrics(metrics => metrics.AddMeter([.. Meters]))
            .UseOtlpExporter();
    }
}
