using CurWorkflows.Service.Costs;
using CurWorkflows.Service.Validation;
using CurWorkflows.Storage.Stores;
using CurWorkflows.Workflows;
using StoredStatus = CurWorkflows.Storage.Entities.IntegrationStatus;
using StoreEnableRequest = CurWorkflows.Storage.Stores.EnableIntegrationRequest;
using WorkflowStatus = CurWorkflows.Workflows.IntegrationStatus;

namespace CurWorkflows.Service.Integrations;

public sealed record EnableResult(bool Created, IntegrationView Integration, bool ReportFound);

public enum DeleteOutcome
{
    Deleted,
    NotFound,

    /// <summary>Enabled: it must be disabled first.</summary>
    Enabled,

    /// <summary>Disabled, but its workflow has not ended yet (a run being cancelled records itself).</summary>
    WorkflowOpen,
}

public sealed record IntegrationDetails(
    IntegrationView Integration,
    WorkflowStatus? Workflow,
    IReadOnlyList<CollectionRunView> LastRuns,
    IReadOnlyList<CoverageFigure> Coverage);

/// <summary>
/// Enable, refresh, disable and read integrations of one organization. Another organization's integration is
/// indistinguishable from a missing one: every lookup goes through the organization.
/// </summary>
public sealed partial class IntegrationService(
    IntegrationStore integrations,
    CollectionRunStore runs,
    IntegrationWorkflowClient workflows,
    EnableValidation validation,
    CostQueries costs,
    CostDataVersionCache costVersions,
    ILogger<IntegrationService> logger)
{
    public const int StatusRuns = 5;

    /// <summary>
    /// Validates access (assume role, list bucket), then stores the integration and starts its workflow. The same
    /// organization, role and bucket give the same integration and workflow; a disabled one is enabled again.
    /// </summary>
    public async Task<EnableResult> EnableAsync(Guid organizationId, ValidEnableRequest request, CancellationToken cancellationToken)
    {
        // A role is one customer's: were it connected to two organizations, whoever knew its external ID could read the
        // other's costs through us (the confused deputy the external ID exists to stop). Checked before it is assumed.
        if (await integrations.IsRoleUsedElsewhereAsync(organizationId, request.IamRoleArn, cancellationToken))
        {
            throw new RoleInUseException();
        }

        var existing = await integrations.FindAsync(organizationId, request.BucketName, request.IamRoleArn, cancellationToken);
        if (existing is not null)
        {
            request = request.KeepingStoredValues(existing);
        }

        // Throws CurException(access_denied | bucket_not_found), answered as 422 problem details.
        var reportFound = await validation.ValidateAsync(request, cancellationToken);

        var stored = await integrations.EnableAsync(
            new StoreEnableRequest(organizationId, request.IamRoleArn, request.ExternalId, request.BucketName,
                request.ReportPrefix, request.ReportName, request.TagKey),
            cancellationToken);
        await workflows.EnsureStartedAsync(stored.Integration.Id.ToString(), organizationId.ToString(), cancellationToken);
        LogEnabled(logger, stored.Integration.Id, organizationId, stored.Created);
        return new EnableResult(stored.Created, stored.Integration, reportFound);
    }

    public Task<IntegrationView?> FindAsync(Guid organizationId, Guid integrationId, CancellationToken cancellationToken) =>
        integrations.GetAsync(organizationId, integrationId, cancellationToken);

    public async Task<bool> ExistsAsync(Guid organizationId, Guid integrationId, CancellationToken cancellationToken) =>
        await integrations.GetAsync(organizationId, integrationId, cancellationToken) is not null;

    /// <summary>Signal-with-start of a refresh. Null when there is no such integration; false when it is disabled.</summary>
    public async Task<bool?> RefreshAsync(Guid organizationId, Guid integrationId, CancellationToken cancellationToken)
    {
        var integration = await integrations.GetAsync(organizationId, integrationId, cancellationToken);
        if (integration is null)
        {
            return null;
        }

        if (integration.Status != StoredStatus.Enabled)
        {
            return false;
        }

        await workflows.RefreshAsync(integration.Id.ToString(), organizationId.ToString(), cancellationToken);
        return true;
    }

    /// <summary>Marks the integration disabled and stops its workflow; cost data stays. Null when there is no such integration.</summary>
    public async Task<IntegrationDetails?> DisableAsync(Guid organizationId, Guid integrationId, CancellationToken cancellationToken)
    {
        if (!await integrations.DisableAsync(organizationId, integrationId, cancellationToken))
        {
            return null;
        }

        await workflows.DisableAsync(integrationId.ToString(), cancellationToken);
        LogDisabled(logger, integrationId, organizationId);
        return await GetDetailsAsync(organizationId, integrationId, cancellationToken);
    }

    /// <summary>
    /// Deletes a disabled integration whose workflow has ended, with its runs and cost data. Its role can then be
    /// connected to another organization (<see cref="RoleInUseException"/>).
    /// </summary>
    public async Task<DeleteOutcome> DeleteAsync(Guid organizationId, Guid integrationId, CancellationToken cancellationToken)
    {
        var integration = await integrations.GetAsync(organizationId, integrationId, cancellationToken);
        if (integration is null)
        {
            return DeleteOutcome.NotFound;
        }

        if (integration.Status == StoredStatus.Enabled)
        {
            return DeleteOutcome.Enabled;
        }

        // A run still ending after the disable would record itself, or stage rows, for an integration that is gone.
        var workflow = await workflows.GetStatusAsync(integrationId.ToString(), cancellationToken);
        if (workflow is not null && workflow.State != IntegrationState.Stopped)
        {
            return DeleteOutcome.WorkflowOpen;
        }

        var outcome = await integrations.DeleteAsync(organizationId, integrationId, cancellationToken) switch
        {
            IntegrationDeletion.Deleted => DeleteOutcome.Deleted,
            IntegrationDeletion.Enabled => DeleteOutcome.Enabled,
            _ => DeleteOutcome.NotFound,
        };
        if (outcome == DeleteOutcome.Deleted)
        {
            costVersions.Forget(organizationId);
            LogDeleted(logger, integrationId, organizationId);
        }

        return outcome;
    }

    public async Task<IntegrationDetails?> GetDetailsAsync(Guid organizationId, Guid integrationId, CancellationToken cancellationToken)
    {
        var integration = await integrations.GetAsync(organizationId, integrationId, cancellationToken);
        return integration is null ? null : await GetDetailsAsync(integration, cancellationToken);
    }

    public async Task<IReadOnlyList<IntegrationDetails>> ListDetailsAsync(Guid organizationId, CancellationToken cancellationToken)
    {
        var list = await integrations.ListAsync(organizationId, cancellationToken);
        var details = new List<IntegrationDetails>(list.Count);
        foreach (var integration in list)
        {
            details.Add(await GetDetailsAsync(integration, cancellationToken));
        }

        return details;
    }

    public async Task<IReadOnlyList<CollectionRunView>?> RunsAsync(Guid organizationId, Guid integrationId, int limit, CancellationToken cancellationToken)
    {
        if (!await ExistsAsync(organizationId, integrationId, cancellationToken))
        {
            return null;
        }

        return await runs.ListAsync(organizationId, integrationId, limit, cancellationToken);
    }

    /// <summary>The integration with its workflow's status, its last runs and the coverage of its latest billing period.</summary>
    public async Task<IntegrationDetails> GetDetailsAsync(IntegrationView integration, CancellationToken cancellationToken)
    {
        var workflow = await QueryWorkflowAsync(integration.Id, cancellationToken);
        var lastRuns = await runs.ListAsync(integration.OrganizationId, integration.Id, StatusRuns, cancellationToken);
        var periods = await runs.ListBillingPeriodsAsync(integration.OrganizationId, integration.Id, cancellationToken);
        IReadOnlyList<CoverageFigure> coverage = periods.Count == 0
            ? []
            : await costs.CoverageAsync(integration.OrganizationId, integration.Id, periods[^1].PeriodStart, cancellationToken);
        return new IntegrationDetails(integration, workflow, lastRuns, coverage);
    }

    /// <summary>The workflow's own status; null when it does not exist or does not answer quickly (no worker, Temporal down).</summary>
    private async Task<WorkflowStatus?> QueryWorkflowAsync(Guid integrationId, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(3));
        try
        {
            return await workflows.GetStatusAsync(integrationId.ToString(), timeout.Token);
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested && exception is not OutOfMemoryException)
        {
            LogStatusUnavailable(logger, integrationId, exception.GetType().Name);
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Integration {IntegrationId} of organization {OrganizationId} enabled (created: {Created})")]
    private static partial void LogEnabled(ILogger logger, Guid integrationId, Guid organizationId, bool created);

    [LoggerMessage(Level = LogLevel.Information, Message = "Integration {IntegrationId} of organization {OrganizationId} disabled")]
    private static partial void LogDisabled(ILogger logger, Guid integrationId, Guid organizationId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Integration {IntegrationId} of organization {OrganizationId} deleted with its runs and cost data")]
    private static partial void LogDeleted(ILogger logger, Guid integrationId, Guid organizationId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Workflow status of integration {IntegrationId} unavailable ({Reason})")]
    private static partial void LogStatusUnavailable(ILogger logger, Guid integrationId, string reason);
}

/// <summary>The role of an enable request is connected to another organization.</summary>
public sealed class RoleInUseException() : Exception("The IAM role is connected to another organization.")
{
    public const string Code = "role_in_use";
}
