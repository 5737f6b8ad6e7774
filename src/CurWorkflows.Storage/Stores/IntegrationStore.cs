using CurWorkflows.Storage.Costs;
using CurWorkflows.Storage.Entities;
using Microsoft.EntityFrameworkCore;

namespace CurWorkflows.Storage.Stores;

public sealed record EnableIntegrationRequest(
    Guid OrganizationId,
    string RoleArn,
    string ExternalId,
    string BucketName,
    string ReportPrefix = "",
    string ReportName = Integration.DefaultReportName,
    string TagKey = Integration.DefaultTagKey)
{
    // The record's generated ToString would print the external ID.
    public override string ToString() => $"EnableIntegrationRequest {{ OrganizationId = {OrganizationId}, RoleArn = {RoleArn}, BucketName = {BucketName} }}";
}

/// <summary>An integration as the API may show it: everything but the external ID.</summary>
public sealed record IntegrationView(
    Guid Id,
    Guid OrganizationId,
    string RoleArn,
    string BucketName,
    string ReportPrefix,
    string ReportName,
    string TagKey,
    IntegrationStatus Status,
    DateTimeOffset CreatedAt,
    DateTimeOffset? DisabledAt)
{
    internal static IntegrationView From(Integration i) =>
        new(i.Id, i.OrganizationId, i.RoleArn, i.BucketName, i.ReportPrefix, i.ReportName, i.TagKey, i.Status, i.CreatedAt, i.DisabledAt);
}

/// <summary>What a collection run needs to reach the customer's bucket. Worker-only: holds the external ID.</summary>
public sealed record IntegrationCollectionSettings(
    Guid IntegrationId,
    Guid OrganizationId,
    string RoleArn,
    string ExternalId,
    string BucketName,
    string ReportPrefix,
    string ReportName,
    string TagKey,
    IntegrationStatus Status)
{
    public override string ToString() => $"IntegrationCollectionSettings {{ IntegrationId = {IntegrationId}, RoleArn = {RoleArn}, BucketName = {BucketName} }}";
}

public sealed record EnableIntegrationResult(IntegrationView Integration, bool Created);

public enum IntegrationDeletion
{
    Deleted,
    NotFound,
    Enabled,
}

/// <summary>Integrations, always scoped to an organization except for the worker's settings lookup.</summary>
public sealed class IntegrationStore(IDbContextFactory<CurWorkflowsDbContext> contextFactory, TimeProvider timeProvider)
{
    /// <summary>
    /// Creates the integration, or finds the existing one for the same organization, bucket and role (re-enabling it
    /// and taking the new external ID and report settings). Idempotent.
    /// </summary>
    public async Task<EnableIntegrationResult> EnableAsync(EnableIntegrationRequest request, CancellationToken cancellationToken = default)
    {
        for (var attempt = 0; ; attempt++)
        {
            await using var context = await contextFactory.CreateDbContextAsync(cancellationToken);
            var existing = await context.Integrations.SingleOrDefaultAsync(
                i => i.OrganizationId == request.OrganizationId && i.BucketName == request.BucketName && i.RoleArn == request.RoleArn,
                cancellationToken);
            var created = existing is null;
            var integration = existing ?? context.Integrations.Add(new Integration
            {
                Id = Guid.CreateVersion7(),
                OrganizationId = request.OrganizationId,
                RoleArn = request.RoleArn,
                ExternalId = request.ExternalId,
                BucketName = request.BucketName,
                CreatedAt = timeProvider.GetUtcNow(),
            }).Entity;
            integration.ExternalId = request.ExternalId;
            integration.ReportPrefix = request.ReportPrefix;
            integration.ReportName = request.ReportName;
            integration.TagKey = request.TagKey;
            integration.Status = IntegrationStatus.Enabled;
            integration.DisabledAt = null;
            try
            {
                await context.SaveChangesAsync(cancellationToken);
                return new EnableIntegrationResult(IntegrationView.From(integration), created);
            }
            catch (DbUpdateException) when (created && attempt == 0)
            {
                // A concurrent enable of the same role and bucket won the unique index: read its row.
            }
        }
    }

    /// <summary>The integration <see cref="EnableAsync"/> would enable again for this role and bucket (matched as the
    /// database matches them, with its collation), or null.</summary>
    public async Task<IntegrationView?> FindAsync(Guid organizationId, string bucketName, string roleArn, CancellationToken cancellationToken = default)
    {
        await using var context = await contextFactory.CreateDbContextAsync(cancellationToken);
        var integration = await context.Integrations.AsNoTracking().SingleOrDefaultAsync(
            i => i.OrganizationId == organizationId && i.BucketName == bucketName && i.RoleArn == roleArn, cancellationToken);
        return integration is null ? null : IntegrationView.From(integration);
    }

    /// <summary>Whether another organization has an integration (enabled or not) with this role.</summary>
    public async Task<bool> IsRoleUsedElsewhereAsync(Guid organizationId, string roleArn, CancellationToken cancellationToken = default)
    {
        await using var context = await contextFactory.CreateDbContextAsync(cancellationToken);
        return await context.Integrations.AsNoTracking().AnyAsync(i => i.RoleArn == roleArn && i.OrganizationId != organizationId, cancellationToken);
    }

    public async Task<IntegrationView?> GetAsync(Guid organizationId, Guid integrationId, CancellationToken cancellationToken = default)
    {
        await using var context = await contextFactory.CreateDbContextAsync(cancellationToken);
        var integration = await context.Integrations.AsNoTracking()
            .SingleOrDefaultAsync(i => i.Id == integrationId && i.OrganizationId == organizationId, cancellationToken);
        return integration is null ? null : IntegrationView.From(integration);
    }

    public async Task<IReadOnlyList<IntegrationView>> ListAsync(Guid organizationId, CancellationToken cancellationToken = default)
    {
        await using var context = await contextFactory.CreateDbContextAsync(cancellationToken);
        var integrations = await context.Integrations.AsNoTracking()
            .Where(i => i.OrganizationId == organizationId)
            .OrderBy(i => i.CreatedAt).ThenBy(i => i.Id)
            .ToListAsync(cancellationToken);
        return [.. integrations.Select(IntegrationView.From)];
    }

    /// <summary>Marks the integration disabled; its cost data stays. False when it is not this organization's.</summary>
    public async Task<bool> DisableAsync(Guid organizationId, Guid integrationId, CancellationToken cancellationToken = default)
    {
        await using var context = await contextFactory.CreateDbContextAsync(cancellationToken);
        var integration = await context.Integrations
            .SingleOrDefaultAsync(i => i.Id == integrationId && i.OrganizationId == organizationId, cancellationToken);
        if (integration is null)
        {
            return false;
        }

        if (integration.Status != IntegrationStatus.Disabled)
        {
            integration.Status = IntegrationStatus.Disabled;
            integration.DisabledAt = timeProvider.GetUtcNow();
            await context.SaveChangesAsync(cancellationToken);
        }

        return true;
    }

    /// <summary>
    /// Deletes the integration's cost rows and billing periods (explicit, separate from disabling). The integration
    /// and its run history stay. False when it is not this organization's.
    /// </summary>
    public async Task<bool> DeleteCostDataAsync(Guid organizationId, Guid integrationId, CancellationToken cancellationToken = default)
    {
        await using var context = await contextFactory.CreateDbContextAsync(cancellationToken);
        await using var transaction = await context.Database.BeginTransactionAsync(cancellationToken);
        var exists = await context.Integrations.AnyAsync(i => i.Id == integrationId && i.OrganizationId == organizationId, cancellationToken);
        if (!exists)
        {
            return false;
        }

        // As a replace or a discard does: a staging chunk between its marker check and its commit would otherwise
        // land after the deletion, rows without a marker that no cleanup finds.
        await CostWriter.LockIntegrationAsync(context, integrationId, cancellationToken);
        await DeleteCostRowsAsync(context, integrationId, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    /// <summary>
    /// Deletes a disabled integration with its runs and cost data; its role can then be connected to another
    /// organization. The caller makes sure its workflow has ended. Nothing is deleted when it is enabled: the integration's
    /// row goes last, only if not enabled, and otherwise the transaction is rolled back.
    /// </summary>
    public async Task<IntegrationDeletion> DeleteAsync(Guid organizationId, Guid integrationId, CancellationToken cancellationToken = default)
    {
        await using var context = await contextFactory.CreateDbContextAsync(cancellationToken);
        await using var transaction = await context.Database.BeginTransactionAsync(cancellationToken);
        if (!await context.Integrations.AnyAsync(i => i.Id == integrationId && i.OrganizationId == organizationId, cancellationToken))
        {
            return IntegrationDeletion.NotFound;
        }

        await CostWriter.LockIntegrationAsync(context, integrationId, cancellationToken);
        await DeleteCostRowsAsync(context, integrationId, cancellationToken);
        await context.CollectionRuns.Where(r => r.IntegrationId == integrationId).ExecuteDeleteAsync(cancellationToken);
        var deleted = await context.Integrations
            .Where(i => i.Id == integrationId && i.Status != IntegrationStatus.Enabled)
            .ExecuteDeleteAsync(cancellationToken);
        if (deleted != 1)
        {
            // Enabled (the caller checked before, so enabled again since): nothing of it is deleted.
            await transaction.RollbackAsync(cancellationToken);
            return IntegrationDeletion.Enabled;
        }

        await transaction.CommitAsync(cancellationToken);
        return IntegrationDeletion.Deleted;
    }

    /// <summary>Every generation of the integration, active (named by its periods) or not (staging, superseded): deleted
    /// by the (run, period) index, the periods first so that no generation is active any more.</summary>
    private static async Task DeleteCostRowsAsync(CurWorkflowsDbContext context, Guid integrationId, CancellationToken cancellationToken)
    {
        var generations = await context.BillingPeriods.AsNoTracking()
            .Where(p => p.IntegrationId == integrationId)
            .Select(p => new StagingKey(p.CollectionRunId, p.IntegrationId, p.PeriodStart))
            .ToListAsync(cancellationToken);
        generations.AddRange(await context.CostGenerations.AsNoTracking()
            .Where(g => g.IntegrationId == integrationId)
            .Select(g => new StagingKey(g.CollectionRunId, g.IntegrationId, g.BillingPeriod))
            .ToListAsync(cancellationToken));
        await context.BillingPeriods.Where(p => p.IntegrationId == integrationId).ExecuteDeleteAsync(cancellationToken);
        foreach (var generation in generations.Distinct())
        {
            await CostWriter.DeleteGenerationAsync(context.Database, generation, cancellationToken);
        }
    }

    /// <summary>For the worker's assume-role step only (includes the external ID); never expose the result.</summary>
    public async Task<IntegrationCollectionSettings?> GetCollectionSettingsAsync(Guid integrationId, CancellationToken cancellationToken = default)
    {
        await using var context = await contextFactory.CreateDbContextAsync(cancellationToken);
        return await context.Integrations.AsNoTracking()
            .Where(i => i.Id == integrationId)
            .Select(i => new IntegrationCollectionSettings(
                i.Id, i.OrganizationId, i.RoleArn, i.ExternalId, i.BucketName, i.ReportPrefix, i.ReportName, i.TagKey, i.Status))
            .SingleOrDefaultAsync(cancellationToken);
    }
}
