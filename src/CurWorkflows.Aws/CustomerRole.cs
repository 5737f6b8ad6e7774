using System.Text.Json;
using System.Text.Json.Serialization;

namespace CurWorkflows.Aws;

/// <summary>
/// The customer's role as the integration was configured. Carries the external id, so it is never logged,
/// serialized into workflow payloads or returned: <see cref="ToString"/> leaves the external id out, and
/// System.Text.Json (Temporal's payload converter) refuses to write it. Pass the integration id to activities
/// and build the role inside them from storage.
/// </summary>
[JsonConverter(typeof(CustomerRoleJsonConverter))]
public sealed record CustomerRole(string IntegrationId, string RoleArn, string ExternalId)
{
    public override string ToString() => $"CustomerRole {{ IntegrationId = {IntegrationId}, RoleArn = {RoleArn}, ExternalId = *** }}";
}

internal sealed class CustomerRoleJsonConverter : JsonConverter<CustomerRole>
{
    private const string Refusal =
        "CustomerRole carries the external id and is never serialized (workflow payloads, API responses, logs); pass the integration id instead.";

    public override CustomerRole Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        throw new NotSupportedException(Refusal);

    public override void Write(Utf8JsonWriter writer, CustomerRole value, JsonSerializerOptions options) =>
        throw new NotSupportedException(Refusal);
}

/// <summary>Where the integration's reports are: bucket, key prefix (may be empty) and report name.</summary>
public sealed record ReportLocation(string Bucket, string Prefix = "", string ReportName = "massdriver-costs");

/// <summary>The platform's own AWS identity, as STS GetCallerIdentity names it.</summary>
public sealed record PlatformIdentity(string Arn, string Account);
