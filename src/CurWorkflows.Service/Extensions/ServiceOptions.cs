using System.ComponentModel.DataAnnotations;

namespace CurWorkflows.Service.Extensions;

/// <summary>Which halves of the service this process runs.</summary>
public enum HostRole
{
    All,
    Api,
    Worker,
}

/// <summary>Section <c>Host</c>.</summary>
public sealed class ServiceHostOptions
{
    public const string SectionName = "Host";

    public HostRole Role { get; set; } = HostRole.All;

    public bool RunsApi => Role is HostRole.All or HostRole.Api;

    public bool RunsWorker => Role is HostRole.All or HostRole.Worker;
}

/// <summary>Section <c>Api</c>.</summary>
public sealed class ApiOptions
{
    public const string SectionName = "Api";

    /// <summary>Bearer token of the admin endpoints (organization API keys). Empty disables them.</summary>
    public string? AdminKey { get; set; }

    [Range(1024, 10 * 1024 * 1024)]
    public long MaxRequestBodyBytes { get; set; } = 64 * 1024;

    /// <summary>The organization that receives the bootstrap API key on first start.</summary>
    [Required, StringLength(200, MinimumLength = 1)]
    public string DefaultOrganization { get; set; } = "default";

    /// <summary>Create and print an API key for <see cref="DefaultOrganization"/> when it has none.</summary>
    public bool CreateBootstrapKey { get; set; } = true;

    /// <summary>Longest date range a cost query may span.</summary>
    [Range(1, 3660)]
    public int MaxQueryDays { get; set; } = 1100;

    /// <summary>
    /// Keep serialized cost answers (JSON and CSV) in memory, checked against the organization's cost-data version on
    /// every request. False computes every answer (the uncached figures of the benchmark).
    /// </summary>
    public bool CostCacheEnabled { get; set; } = true;

    /// <summary>
    /// How long an organization's cost-data version (billing period count, last ingested_at) is reused before it is read
    /// again: the bound on how long a replaced or deleted billing period can go unseen by cost answers. 0 reads it on
    /// every request.
    /// </summary>
    [Range(0, 60_000)]
    public int CostDataVersionMaxAgeMilliseconds { get; set; } = 1000;

    /// <summary>Memory bound of the cost answer cache (bodies), least recently used answers evicted first.</summary>
    [Range(1, 64 * 1024)]
    public int CostCacheMegabytes { get; set; } = 256;

    /// <summary>
    /// How long a verified API key is trusted without asking the database (keyed by its SHA-256, never the key). A key
    /// revoked through this process stops at once; revoked elsewhere, within this many seconds. 0 checks every request.
    /// </summary>
    [Range(0, 300)]
    public int ApiKeyCacheSeconds { get; set; } = 10;
}

/// <summary>Section <c>Temporal</c>: the parts the host itself uses (address, UI links, the embedded dev server).</summary>
public sealed class TemporalHostOptions
{
    public const string SectionName = "Temporal";

    /// <summary>host:port of an external Temporal frontend. Empty starts an embedded dev server.</summary>
    public string? Address { get; set; }

    [Required]
    public string Namespace { get; set; } = "default";

    [Required]
    public string TaskQueue { get; set; } = "cur-workflows";

    /// <summary>Public base URL of the Temporal Web UI for links in status responses.</summary>
    public string? UiBaseUrl { get; set; }

    /// <summary>Path of the Temporal CLI for the embedded dev server (else TEMPORAL_CLI_PATH, the shared tools folder, or a download).</summary>
    public string? CliPath { get; set; }

    /// <summary>Frontend port of the embedded dev server; 0 picks a free port.</summary>
    [Range(0, 65535)]
    public int EmbeddedPort { get; set; } = 7233;

    /// <summary>Web UI port of the embedded dev server; 0 picks a free port.</summary>
    [Range(0, 65535)]
    public int EmbeddedUiPort { get; set; } = 8233;

    /// <summary>Folder of the embedded dev server's database, so that workflow history survives restarts.</summary>
    public string EmbeddedDataDirectory { get; set; } = ".data";

    public bool IsEmbedded => string.IsNullOrWhiteSpace(Address);
}

