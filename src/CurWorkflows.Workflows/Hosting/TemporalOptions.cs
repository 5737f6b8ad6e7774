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

    public bool UsesEmbeddedServer => string.IsNullOrWhiteSpace(Address);

    internal static IEnumerable<string> Validate(TemporalOptions options)
    {
        if (!options.UsesEmbeddedServer)
        {
            var colon = options.Address.LastIndexOf(':');
            if (colon <= 0 || !int.TryParse(options.Address[(colon + 1)..], out var port) || port is <= 0 or > 65535)
            {
                yield return $"Temporal:Address must be host:port (or empty for an embedded dev server), not '{options.Address}'.";
            }
        }
    }
}
