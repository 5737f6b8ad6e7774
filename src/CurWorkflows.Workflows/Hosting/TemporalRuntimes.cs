using System.Collections.Concurrent;
using Temporalio.Runtime;

namespace CurWorkflows.Workflows.Hosting;

/// <summary>
/// The Temporal runtime of a process's clients and workers: one per metrics destination (or none), shared by every
/// connection of the process: the Prometheus endpoint binds its address once, and a host started again in the same
/// process finds it still bound by the runtime it created before. Every runtime forwards the core's logs to
/// <see cref="TemporalCoreLog"/>.
/// </summary>
internal static class TemporalRuntimes
{
    private static readonly ConcurrentDictionary<string, Lazy<TemporalRuntime>> Runtimes = new();

    public static TemporalRuntime For(TemporalOptions options)
    {
        var prometheus = options.MetricsPrometheusAddress.Trim();
        var otlp = options.MetricsOtlpEndpoint.Trim();
        var key = prometheus.Length > 0 ? "prometheus " + prometheus : otlp.Length > 0 ? "otlp " + otlp : "no metrics";
        return Runtimes.GetOrAdd(key, _ => new Lazy<TemporalRuntime>(() => Create(prometheus, otlp))).Value;
    }

    private static TemporalRuntime Create(string prometheus, string otlp)
    {
        try
        {
            return new TemporalRuntime(new()
            {
                Telemetry = new()
                {
                    Logging = new() { Forwarding = new(TemporalCoreLog.Instance) },
                    Metrics = prometheus.Length > 0
                        ? new(new PrometheusOptions(prometheus) { HasCounterTotalSuffix = true, UseSecondsForDuration = true })
                        : otlp.Length > 0 ? new(new OpenTelemetryOptions(new Uri(otlp)) { UseSecondsForDuration = true }) : null,
                },
            });
        }
        catch (InvalidOperationException e) when (prometheus.Length > 0)
        {
            // The SDK's own words ("Invalid options: Address already in use") do not say which setting.
            throw new InvalidOperationException(
                $"Temporal:MetricsPrometheusAddress {prometheus} cannot serve metrics: {e.Message}. Another process (or another " +
                "instance of this service) may hold the port; choose another one, or leave the setting empty.", e);
        }
    }
}
