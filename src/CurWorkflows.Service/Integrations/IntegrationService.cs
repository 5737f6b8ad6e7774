using CurWorkflows.Service.Costs;
using CurWorkflows.Service.Validation;
using CurWorkflows.Storage;
using CurWorkflows.Storage.Entities;
using CurWorkflows.Workflows;
using Microsoft.EntityFrameworkCore;
using StoredStatus = CurWorkflows.Storage.Entities.IntegrationStatus;
using WorkflowStatus = CurWorkflows.Workflows.IntegrationStatus;

namespace CurWorkflows.Service.Integrations;

public enum EnableOutcome
{
    Created,
    Existing,
}

public sealed record EnableResult(EnableOutcome Outcome, Integration Integration, bool ReportFound);

public sealed record IntegrationView(
    Integration Integration,
    WorkflowStatus? Workflow,
    IReadOnlyList<CollectionRun> LastRuns,
    IReadOnlyList<(string Currency, DateOnly Month, decimal Total, decimal Untagged)> Coverage);

/// <summary>
/// Enable, refresh, disable and read integrations of one organization. An integration of another organization is
/// indistinguishable from a missing one: every lookup filters on the organization.
/// </summary>
public sealed partial class IntegrationService(
    IDbContextFactory<CurWorkflowsDbContext> contexts,
    IntegrationWorkflowClient workflows,
    EnableValidation validation,
    CostQueries costs,
    TimeProvider time,
    ILogger<IntegrationService> logger)
{
    public const int StatusRuns = 5;

    /// <summary>
    /// Validates access (assume role, list bucket), then stores the integration and starts its workflow. The same
    /// organization, role and bucket give the same integration; a disabled one is enabled again with the new values.
    /// </summary>
    public async Task<EnableResult> EnableAsync(Guid organizationId, ValidEnableRequest request, CancellationToken cancellationToken)
    {
        var existing = await FindByRoleAndBucketAsync(organizationId, request.IamRoleArn, request.BucketName, cancellationToken);
        var integrationId = existing?.Id ?? Guid.CreateVersion7();

        // Throws CurException(access_denied | bucket_not_found); answered as 422 by the exception handler.
        var reportFound = await validation.ValidateAsync(integrationId, request, cancellationToken);

        var outcome = EnableOutcome.Existing;
        await using (var db = await contexts.CreateDbContextAsync(cancellationToken))
        {
            var integration = await db.Integrations.FirstOrDefaultAsync(
                i => i.OrganizationId == organizationId && i.RoleArn == request.IamRoleArn && i.BucketName == request.BucketName,
                cancellationToken);
            if (integration is null)
            {
                integration = new Integration
                {
                    Id = integrationId,
                    OrganizationId = organizationId,
                    RoleArn = request.IamRoleArn,
                    ExternalId = request.ExternalId,
                    BucketName = request.BucketName,
                    CreatedAt = time.GetUtcNow(),
                };
                db.Integrations.Add(integration);
                outcome = EnableOutcome.Created;
            }

            integration.ExternalId = request.ExternalId;
            integration.ReportPrefix = request.ReportPrefix;
            integration.ReportName = request.ReportName;
            integration.TagKey = request.TagKey;
            integration.Status = StoredStatus.Enabled;
            integration.DisabledAt = null;
            try
            {
                await db.SaveChangesAsync(cancellationToken);
            }
            catch (DbUpdateException) when (outcome == EnableOutcome.Created)
            {
                // A concurrent enable of the same role and bucket inserted first: that row is the integration.
                outcome = EnableOutcome.Existing;
            }
        }

        var stored = await FindByRoleAndBucketAsync(organizationId, request.IamRoleArn, request.BucketName, cancellationToken)
            ?? throw new InvalidOperationException("The integration just stored was not found.");
        await workflows.EnsureStartedAsync(stored.Id.ToString(), organizationId.ToString(), cancellationToken);
        LogEnabled(logger, stored.Id, organizationId, outcome);
        return new EnableResult(outcome, stored, reportFound);
    }

    public async Task<Integration?> FindAsync(Guid organizationId, Guid integrationId, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return await db.Integrations.AsNoTracking()
            .FirstOrDefaultAsync(i => i.OrganizationId == organizationId && i.Id == integrationId, cancellationToken);
    }

    public async Task<bool> ExistsAsync(Guid organizationId, Guid integrationId, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return await db.Integrations.AnyAsync(i => i.OrganizationId == organizationId && i.Id == integrationId, cancellationToken);
    }

    /// <summary>Signal-with-start of a refresh. Null when there is no such integration; false when it is disabled.</summary>
    public async Task<bool?> RefreshAsync(Guid organizationId, Guid integrationId, CancellationToken cancellationToken)
    {
        var integration = await FindAsync(organizationId, integrationId, cancellationToken);
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
    public async Task<Integration?> DisableAsync(Guid organizationId, Guid integrationId, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var integration = await db.Integrations
            .FirstOrDefaultAsync(i => i.OrganizationId == organizationId && i.Id == integrationId, cancellationToken);
        if (integration is null)
        {
            return null;
        }

        if (integration.Status != StoredStatus.Disabled)
        {
            integration.Status = StoredStatus.Disabled;
            integration.DisabledAt = time.GetUtcNow();
            await db.SaveChangesAsync(cancellationToken);
        }

        await workflows.DisableAsync(integration.Id.ToString(), cancellationToken);
        LogDisabled(logger, integration.Id, organizationId);
        return integration;
    }

    public async Task<IntegrationView?> GetViewAsync(Guid organizationId, Guid integrationId, CancellationToken cancellationToken)
    {
        var integration = await FindAsync(organizationId, integrationId, cancellationToken);
        return integration is null ? null : await ViewAsync(integration, cancellationToken);
    }

    public async Task<IReadOnlyList<IntegrationView>> ListViewsAsync(Guid organizationId, CancellationToken cancellationToken)
    {
        List<Integration> integrations;
        await using (var db = await contexts.CreateDbContextAsync(cancellationToken))
        {
            integrations = await db.Integrations.AsNoTracking()
                .Where(i => i.OrganizationId == organizationId)
                .OrderBy(i => i.CreatedAt)
                .Take(500)
                .ToListAsync(cancellationToken);
        }

        var views = new List<IntegrationView>(integrations.Count);
        foreach (var integration in integrations)
        {
            views.Add(await ViewAsync(integration, cancellationToken));
        }

        return views;
    }

    public async Task<IReadOnlyList<CollectionRun>?> RunsAsync(Guid organizationId, Guid integrationId, int limit, CancellationToken cancellationToken)
    {
        if (!await ExistsAsync(organizationId, integrationId, cancellationToken))
        {
            return null;
        }

        return await LastRunsAsync(organizationId, integrationId, limit, cancellationToken);
    }

    private async Task<IntegrationView> ViewAsync(Integration integration, CancellationToken cancellationToken)
    {
        var workflow = await QueryWorkflowAsync(integration, cancellationToken);
        var runs = await LastRunsAsync(integration.OrganizationId, integration.Id, StatusRuns, cancellationToken);
        var coverage = await costs.CoverageAsync(integration.OrganizationId, integration.Id, cancellationToken);
        return new IntegrationView(integration, workflow, runs, coverage);
    }

    private async Task<List<CollectionRun>> LastRunsAsync(Guid organizationId, Guid integrationId, int limit, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return await db.CollectionRuns.AsNoTracking()
            .Where(r => r.OrganizationId == organizationId && r.IntegrationId == integrationId)
            .OrderByDescending(r => r.StartedAt)
            .Take(limit)
            .ToListAsync(cancellationToken);
    }

    /// <summary>The workflow's own status; null when it does not exist or does not answer quickly (no worker, Temporal down).</summary>
    private async Task<WorkflowStatus?> QueryWorkflowAsync(Integration integration, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(3));
        try
        {
            return await workflows.GetStatusAsync(integration.Id.ToString(), timeout.Token);
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested && exception is not OutOfMemoryException)
        {
            LogStatusUnavailable(logger, integration.Id, exception.GetType().Name);
            return null;
        }
    }

    private async Task<Integration?> FindByRoleAndBucketAsync(Guid organizationId, string roleArn, string bucket, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return await db.Integrations.AsNoTracking().FirstOrDefaultAsync(
            i => i.OrganizationId == organizationId && i.RoleArn == roleArn && i.BucketName == bucket, cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Integration {IntegrationId} of organization {OrganizationId} enabled ({Outcome})")]
    private static partial void LogEnabled(ILogger logger, Guid integrationId, Guid organizationId, EnableOutcome outcome);

    [LoggerMessage(Level = LogLevel.Information, Message = "Integration {IntegrationId} of organization {OrganizationId} disabled")]
    private static partial void LogDisabled(ILogger logger, Guid integrationId, Guid organizationId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Workflow status of integration {IntegrationId} unavailable ({Reason})")]
    private static partial void LogStatusUnavailable(ILogger logger, Guid integrationId, string reason);
}
