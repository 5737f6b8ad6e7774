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
    [RegularExpression("[\\s\\S]{20,}", ErrorMessage = "Api:AdminKey must be empty (the admin API is off) or at least 20 characters (for example `openssl rand -hex 32`).")]
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
