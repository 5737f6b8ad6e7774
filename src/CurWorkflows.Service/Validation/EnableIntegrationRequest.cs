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
    /// <summary>Which of the optional fields the request left out (and so hold their defaults).</summary>
    public OptionalEnableFields Omitted { get; init; }

    /// <summary>
    /// The request as it applies to an integration that exists already: a field left out keeps what was stored (an
    /// enable again with the product doc's three fields does not move the integration to another prefix or report).
    /// </summary>
    public ValidEnableRequest KeepingStoredValues(CurWorkflows.Storage.Stores.IntegrationView existing) => this with
    {
        ReportPrefix = Omitted.HasFlag(OptionalEnableFields.ReportPrefix) ? existing.ReportPrefix : ReportPrefix,
        ReportName = Omitted.HasFlag(OptionalEnableFields.ReportName) ? existing.ReportName : ReportName,
        TagKey = Omitted.HasFlag(OptionalEnableFields.TagKey) ? existing.TagKey : TagKey,
        Omitted = OptionalEnableFields.None,
    };

    public override string ToString() =>
        $"ValidEnableRequest {{ IamRoleArn = {IamRoleArn}, BucketName = {BucketName}, ReportPrefix = {ReportPrefix}, ReportName = {ReportName}, TagKey = {TagKey} }}";
}

[Flags]
public enum OptionalEnableFields
{
    None = 0,
    ReportPrefix = 1,
    ReportName = 2,
    TagKey = 4,
}
