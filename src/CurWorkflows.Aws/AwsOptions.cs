using System.ComponentModel.DataAnnotations;

namespace CurWorkflows.Aws;

/// <summary>Configuration section <c>Aws</c>. Empty service URLs mean the real AWS endpoints.</summary>
public sealed class AwsOptions : IValidatableObject
{
    public const string SectionName = "Aws";

    private const string RegionPattern = "^[a-z]{2}(-[a-z]+)+-\\d$";

    /// <summary>Region for signing and for the default endpoints; CUR exists only in us-east-1.</summary>
    [Required]
    [RegularExpression(RegionPattern, ErrorMessage = "Aws:Region must look like us-east-1")]
    public string Region { get; set; } = "us-east-1";

    public string? StsServiceUrl { get; set; }

    public string? S3ServiceUrl { get; set; }

    public string? TaggingServiceUrl { get; set; }

    /// <summary>
    /// The AWS commercial regions every account has enabled. The tagging API answers for the resources of one region
    /// per call, and the customer's resources may be in any of these.
    /// </summary>
    public static readonly IReadOnlyList<string> DefaultTaggingRegions =
    [
        "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "sa-east-1",
        "eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1",
        "ap-south-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2",
    ];

    /// <summary>
    /// Regions whose tagged resources the tag lookup reads (empty: <see cref="DefaultTaggingRegions"/>). Add the opt-in
    /// regions the customers use; a region an account has not enabled refuses the session.
    /// </summary>
    public List<string> TaggingRegions { get; set; } = [];

    /// <summary>
    /// The regions the tag lookup reads: always <see cref="Region"/> too, whose refusal is the role's missing permission
    /// (other regions that refuse are skipped).
    /// </summary>
    public IReadOnlyList<string> EffectiveTaggingRegions =>
        [Region, .. (TaggingRegions.Count > 0 ? TaggingRegions : DefaultTaggingRegions).Where(r => r != Region).Distinct(StringComparer.Ordinal)];

    /// <summary>Path-style S3 addressing (<c>http://host/bucket/key</c>): needed for local endpoints and most S3-compatible stores.</summary>
    public bool S3ForcePathStyle { get; set; }

    /// <summary>Lifetime requested for the assumed role's session (900 s to 12 h; the role's maximum must allow it).</summary>
    [Range(typeof(TimeSpan), "00:15:00", "12:00:00")]
    public TimeSpan SessionDuration { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Temporary credentials are replaced this long before they expire.</summary>
    [Range(typeof(TimeSpan), "00:00:10", "00:30:00")]
    public TimeSpan CredentialRefreshMargin { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Timeout of one HTTP request (a ranged GET that stalls this long is retried from the bytes on disk).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Retries of the SDK for throttling and 5xx before a call fails as <c>transient</c>.</summary>
    [Range(0, 20)]
    public int MaxErrorRetry { get; set; } = 4;

    /// <summary>Attempts of a download in one call when connections drop without progress.</summary>
    [Range(1, 100)]
    public int DownloadMaxAttempts { get; set; } = 8;

    /// <summary>Length of each ranged GET of a download.</summary>
    [Range(1024 * 1024, 1024L * 1024 * 1024)]
    public long DownloadRangeBytes { get; set; } = 8L * 1024 * 1024;

    /// <summary>
    /// Ranged GETs of one download in flight at once (1: one after the other). A single S3 connection carries far less
    /// than a host can take; the ranges after the one being written are held in memory (this many minus one, times
    /// <see cref="DownloadRangeBytes"/>) and written in order.
    /// </summary>
    [Range(1, 16)]
    public int DownloadParallelRanges { get; set; } = 4;

    /// <summary>Free disk that must remain after a download; a download does not start otherwise.</summary>
    [Range(0, long.MaxValue)]
    public long DownloadFreeSpaceMarginBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>Whether the service checks its own AWS credentials at start (STS GetCallerIdentity) and logs the result.</summary>
    public bool CheckPlatformIdentityOnStart { get; set; } = true;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var (name, value) in new[] { (nameof(StsServiceUrl), StsServiceUrl), (nameof(S3ServiceUrl), S3ServiceUrl), (nameof(TaggingServiceUrl), TaggingServiceUrl) })
        {
            if (!string.IsNullOrWhiteSpace(value)
                && (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
            {
                yield return new ValidationResult($"Aws:{name} must be an absolute http(s) URL, got '{value}'", [name]);
            }
        }

        foreach (var region in TaggingRegions)
        {
            if (!System.Text.RegularExpressions.Regex.IsMatch(region ?? "", RegionPattern))
            {
                yield return new ValidationResult($"Aws:TaggingRegions must hold region names like eu-west-1, got '{region}'", [nameof(TaggingRegions)]);
            }
        }

        if (CredentialRefreshMargin >= SessionDuration)
        {
            yield return new ValidationResult("Aws:CredentialRefreshMargin must be shorter than Aws:SessionDuration", [nameof(CredentialRefreshMargin)]);
        }
    }
}
