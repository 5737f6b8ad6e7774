using System.ComponentModel.DataAnnotations;

namespace CurWorkflows.Workflows.Hosting;

/// <summary>Configuration section <c>Temporal</c>.</summary>
public sealed class TemporalOptions
{
    public const string SectionName = "Temporal";

    /// <summary><c>host:port</c> of the Temporal frontend; empty starts an embedded dev server (development only).</summary>
    public string Address { get; set; } = "";

    [Required]
    public string Namespace { get; set; } = "default";

    [Required]
    public string TaskQueue { get; set; } = "cur-workflows";

    /// <summary>Base URL of the Temporal UI, for links to runs.</summary>
    public string? UiBaseUrl { get; set; }

    /// <summary>Path of the <c>temporal</c> CLI for the embedded dev server; else env TEMPORAL_CLI_PATH, else PATH.</summary>
    public string? CliPath { get; set; }

    /// <summary>Embedded dev server only: SQLite file that keeps workflows across restarts (empty = in memory).</summary>
    public string? EmbeddedDatabaseFile { get; set; }

    /// <summary>Embedded dev server only: port of its Temporal UI (0 = no UI).</summary>
    [Range(0, 65535)]
    public int EmbeddedUiPort { get; set; }

    internal bool UsesEmbeddedServer => string.IsNullOrWhiteSpace(Address);

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
