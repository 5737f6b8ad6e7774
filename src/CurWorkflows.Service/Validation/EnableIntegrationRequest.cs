using System.Text.Json.Serialization;

namespace CurWorkflows.Service.Validation;

/// <summary>Body of <c>POST /api/v1/integrations/aws-cur</c>, the values the customer's OpenTofu module outputs.</summary>
public sealed record EnableIntegrationRequest
{
    [JsonPropertyName("iam_role_arn")]
    public string? IamRoleArn { get; init; }

    /// <summary>Write-only: never echoed, logged or put into an error message.</summary>
    [JsonPropertyName("external_id")]
    public string? ExternalId { get; init; }

    [JsonPropertyName("bucket_name")]
    public string? BucketName { get; init; }

    [JsonPropertyName("report_prefix")]
    public string? ReportPrefix { get; init; }

    [JsonPropertyName("report_name")]
    public string? ReportName { get; init; }

    [JsonPropertyName("tag_key")]
    public string? TagKey { get; init; }

    // A record's generated ToString would print the external ID.
    public override string ToString() =>
        $"EnableIntegrationRequest {{ iam_role_arn = {IamRoleArn}, bucket_name = {BucketName}, report_prefix = {ReportPrefix}, report_name = {ReportName}, tag_key = {TagKey} }}";
}

/// <summary>An enable request that passed validation, with defaults filled in.</summary>
public sealed record ValidEnableRequest(
    string IamRoleArn, string ExternalId, string BucketName, string ReportPrefix, string ReportName, string TagKey)
{
    public override string ToString() =>
        $"ValidEnableRequest {{ IamRoleArn = {IamRoleArn}, BucketName = {BucketName}, ReportPrefix = {ReportPrefix}, ReportName = {ReportName}, TagKey = {TagKey} }}";
}
