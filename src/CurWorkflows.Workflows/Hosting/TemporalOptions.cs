using System.ComponentModel.DataAnnotations;

namespace CurWorkflows.Workflows.Hosting;

/// <summary>Configuration section <c>Temporal</c>: the cluster to use, or the dev server to start when there is none.</summary>
public sealed class TemporalOptions
{
    public const string SectionName = "Temporal";

    /// <summary><c>host:port</c> of the Temporal frontend; empty starts an embedded dev server (development only).</summary>
    public string Address { get; set; } = "";

    [Required]
    public string Namespace { get; set; } = "default";

    [Required]
    public string TaskQueue { get; set; } = "cur-workflows";

    /// <summary>Public base URL of the Temporal Web UI, for links to runs.</summary>
    public string? UiBaseUrl { get; set; }

    /// <summary>Path of the <c>temporal</c> CLI for the embedded dev server (see <see cref="TemporalCli.Resolve"/>).</summary>
    public string? CliPath { get; set; }

    /// <summary>Embedded dev server only: frontend port; 0 picks a free port.</summary>
    [Range(0, 65535)]
    public int EmbeddedPort { get; set; } = 7233;

    /// <summary>Embedded dev server only: Web UI port; 0 picks a free port.</summary>
    [Range(0, 65535)]
    public int EmbeddedUiPort { get; set; } = 8233;

    /// <summary>Embedded dev server only: folder of its database, so that workflow history survives restarts.</summary>
    public string EmbeddedDataDirectory { get; set; } = ".data";

    /// <summary>
    /// <c>host:port</c> where the process serves its metrics for Prometheus (<c>/metrics</c>): the Temporal SDK's (worker
    /// slots, poll and task latencies, activity outcomes) and CurWorkflows' own (<c>curworkflows_*</c>). Empty: off.
    /// </summary>
    public string MetricsPrometheusAddress { get; set; } = "";

    /// <summary>OTLP/gRPC endpoint (<c>http://collector:4317</c>) to push the same metrics to instead. Empty: off.</summary>
    public string MetricsOtlpEndpoint { get; set; } = "";

    public bool UsesEmbeddedServer => string.IsNullOrWhiteSpace(Address);

    internal static IEnumerable<string> Validate(TemporalOptions options)
    {
        if (!options.UsesEmbeddedServer && !IsHostAndPort(options.Address))
        {
            yield return $"Temporal:Address must be host:port (or empty for an embedded dev server), not '{options.Address}'.";
        }

        if (!string.IsNullOrWhiteSpace(options.MetricsPrometheusAddress) && !IsHostAndPort(options.MetricsPrometheusAddress.Trim()))
        {
            yield return $"Temporal:MetricsPrometheusAddress must be host:port (0.0.0.0:9464, say), not '{options.MetricsPrometheusAddress}'.";
        }

        if (!string.IsNullOrWhiteSpace(options.MetricsOtlpEndpoint)
            && !(Uri.TryCreate(options.MetricsOtlpEndpoint.Trim(), UriKind.Absolute, out var otlp) && otlp.Scheme is "http" or "https"))
        {
            yield return $"Temporal:MetricsOtlpEndpoint must be an http(s) URL, not '{options.MetricsOtlpEndpoint}'.";
        }

        if (!string.IsNullOrWhiteSpace(options.UiBaseUrl)
            && !(Uri.TryCreate(options.UiBaseUrl.Trim(), UriKind.Absolute, out var ui) && ui.Scheme is "http" or "https"))
        {
            yield return $"Temporal:UiBaseUrl must be an http(s) URL (the Web UI's, for links in the API), not '{options.UiBaseUrl}'.";
        }

        if (!string.IsNullOrWhiteSpace(options.MetricsPrometheusAddress) && !string.IsNullOrWhiteSpace(options.MetricsOtlpEndpoint))
        {
            yield return "Set Temporal:MetricsPrometheusAddress or Temporal:MetricsOtlpEndpoint, not both.";
        }
    }

    private static bool IsHostAndPort(string address)
    {
        var colon = address.LastIndexOf(':');
        return colon > 0 && int.TryParse(address[(colon + 1)..], out var port) && port is > 0 and <= 65535;
    }
}
