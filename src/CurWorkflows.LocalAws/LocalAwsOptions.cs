namespace CurWorkflows.LocalAws;

/// <summary>Configuration of a <see cref="LocalAwsServer"/> (section <c>LocalAws</c> when run as a program).</summary>
public sealed class LocalAwsOptions
{
    /// <summary>TCP port on 127.0.0.1; 0 picks a free one.</summary>
    public int Port { get; set; }

    /// <summary>The account id used in the ARNs the endpoint returns.</summary>
    public string AccountId { get; set; } = "123456789012";

    /// <summary>
    /// Long-term keys of the platform (the caller of STS AssumeRole). Empty: AssumeRole accepts any well-formed
    /// signature (demo convenience); otherwise the AssumeRole request must be signed with one of these.
    /// </summary>
    public List<LocalAwsAccessKey> PlatformKeys { get; set; } = [];

    /// <summary>Keys that may call every S3 operation without a policy check (seeding buckets over HTTP).</summary>
    public List<LocalAwsAccessKey> AdminKeys { get; set; } = [];

    /// <summary>The roles that may be assumed, with their external id and permissions policy.</summary>
    public List<LocalAwsRoleTrust> Roles { get; set; } = [];

    /// <summary>Buckets created on start.</summary>
    public List<string> Buckets { get; set; } = [];

    /// <summary>Where objects put over HTTP are stored; default a fresh folder under the temp directory.</summary>
    public string? DataDirectory { get; set; }

    /// <summary>Lifetime of issued credentials when the caller asks for none; AWS's default is one hour.</summary>
    public TimeSpan DefaultSessionDuration { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Largest accepted clock difference between the signature date and now (AWS: 15 minutes).</summary>
    public TimeSpan AllowedClockSkew { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Optional logger factory (tests pass one that records everything). Default: console.</summary>
    public Microsoft.Extensions.Logging.ILoggerFactory? LoggerFactory { get; set; }
}

public sealed class LocalAwsAccessKey
{
    public string AccessKeyId { get; set; } = string.Empty;

    public string SecretAccessKey { get; set; } = string.Empty;

    public override string ToString() => $"LocalAwsAccessKey({AccessKeyId})";
}

/// <summary>A role the endpoint lets callers assume when they present the right external id.</summary>
public sealed class LocalAwsRoleTrust
{
    public string RoleArn { get; set; } = string.Empty;

    /// <summary>The external id the trust policy requires (<c>sts:ExternalId</c>); null: none required.</summary>
    public string? ExternalId { get; set; }

    /// <summary>Path of an IAM policy JSON document enforced on the assumed role's S3 and tagging calls.</summary>
    public string? PolicyPath { get; set; }

    /// <summary>The policy document itself, instead of <see cref="PolicyPath"/>.</summary>
    public string? PolicyJson { get; set; }

    public override string ToString() => $"LocalAwsRoleTrust({RoleArn})";
}
