using Temporalio.Common;

namespace CurWorkflows.Workflows;

/// <summary>Custom search attributes set on both workflows so the Temporal UI can filter the runs of one integration.</summary>
public static class CurSearchAttributes
{
    public static readonly SearchAttributeKey<string> IntegrationId = SearchAttributeKey.CreateKeyword("IntegrationId");

    public static readonly SearchAttributeKey<string> OrganizationId = SearchAttributeKey.CreateKeyword("OrganizationId");

    public static IReadOnlyList<SearchAttributeKey> All { get; } = [IntegrationId, OrganizationId];

    public static SearchAttributeCollection For(string integrationId, string organizationId) =>
        new SearchAttributeCollection.Builder()
            .Set(IntegrationId, integrationId)
            .Set(OrganizationId, organizationId)
            .ToSearchAttributeCollection();
}
