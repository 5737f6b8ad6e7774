using System.Text.Json.Serialization;

namespace CurWorkflows.Storage.Entities;

public enum IntegrationStatus
{
    Enabled = 0,
    Disabled = 1,
}

/// <summary>An AWS CUR integration of one organization. Unique per organization, role ARN and bucket.</summary>
public sealed class Integration
{
    public const string DefaultReportName = "massdriver-costs";
    public const string DefaultTagKey = "user:md-package";

    public Guid Id { get; set; }

    public Guid OrganizationId { get; set; }

    public required string RoleArn { get; set; }

    /// <summary>Write-only secret: stored for AssumeRole, never returned, logged or serialized.</summary>
    [JsonIgnore]
    public string ExternalId { get; set; } = "";

    public required string BucketName { get; set; }

    public string ReportPrefix { get; set; } = "";

    public string ReportName { get; set; } = DefaultReportName;

    public string TagKey { get; set; } = DefaultTagKey;

    public IntegrationStatus Status { get; set; } = IntegrationStatus.Enabled;

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? DisabledAt { get; set; }

    // Deliberately omits ExternalId so that logging or string interpolation cannot leak it.
    public override string ToString() =>
        $"Integration {Id} (organization {OrganizationId}, role {RoleArn}, bucket {BucketName}, {Status})";
}
