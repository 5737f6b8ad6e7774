namespace CurWorkflows.Aws;

/// <summary>
/// The customer's role as the integration was configured. Carries the external id, so it is never logged,
/// serialized into workflow payloads or returned: <see cref="ToString"/> leaves the external id out.
/// </summary>
public sealed record CustomerRole(string IntegrationId, string RoleArn, string ExternalId)
{
    public override string ToString() => $"CustomerRole {{ IntegrationId = {IntegrationId}, RoleArn = {RoleArn}, ExternalId = *** }}";
}

/// <summary>Where the integration's reports are: bucket, key prefix (may be empty) and report name.</summary>
public sealed record ReportLocation(string Bucket, string Prefix = "", string ReportName = "massdriver-costs");
