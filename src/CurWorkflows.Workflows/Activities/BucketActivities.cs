using System.Globalization;
using CurWorkflows.Aws;
using CurWorkflows.Cur;
using CurWorkflows.Storage.Stores;
using CurWorkflows.Workflows.Hosting;
using Microsoft.Extensions.Options;
using Temporalio.Activities;
using Temporalio.Exceptions;

namespace CurWorkflows.Workflows.Activities;

/// <summary>Access and discovery: assume the customer's role, list the bucket, decide which periods to collect.</summary>
public sealed class BucketActivities(
    IntegrationStore integrations,
    CollectionRunStore runs,
    AwsClientFactory clients,
    CurBucketReader bucket,
    IOptions<CollectionOptions> options,
    TimeProvider time)
{
    /// <summary>Assumes the role (credentials stay cached in this worker's memory, never in a payload).</summary>
    [Activity(ActivityNames.ValidateAccess)]
    public Task ValidateAccessAsync(CollectionRunRef run) => ActivityFailures.CodedAsync(async () =>
    {
        var settings = await SettingsAsync(integrations, run);
        if (settings.Status == CurWorkflows.Storage.Entities.IntegrationStatus.Disabled)
        {
            // The database is the integration's state: a refresh or an enable that raced a disable started this workflow
            // again after the disable had ended it.
            throw new ApplicationFailureException(
                $"Integration {run.IntegrationId} is disabled; its workflow ends.",
                errorType: CollectionErrorCodes.IntegrationDisabled,
                nonRetryable: true,
                category: Temporalio.Api.Enums.V1.ApplicationErrorCategory.Benign);
        }

        await clients.EnsureRoleAsync(RoleOf(settings), ActivityExecutionContext.Current.CancellationToken);
    });

    /// <summary>
    /// The periods to collect: those within the backfill window (current month and <c>Collection:BackfillMonths</c>
    /// before it) that are not stored as final, whose manifest's assemblyId and ETag are not the stored ones.
    /// </summary>
    [Activity(ActivityNames.PlanCollection)]
    public Task<CollectionPlan> PlanAsync(CollectionRunRef run) => ActivityFailures.CodedAsync(async () =>
    {
        var context = ActivityExecutionContext.Current;
        var cancellationToken = context.CancellationToken;
        // On a timer: one listing of a large bucket (many pages) may take longer than the heartbeat timeout.
        using var heartbeat = new PeriodicHeartbeat<string>(context, "listing the bucket");
        var settings = await SettingsAsync(integrations, run);
        var role = RoleOf(settings);
        var location = new ReportLocation(settings.BucketName, settings.ReportPrefix, settings.ReportName);
        var listedETags = new Dictionary<string, string>(StringComparer.Ordinal);
        var manifests = await bucket.FindPeriodManifestsAsync(role, location, listedETags, cancellationToken);
        if (manifests.Count == 0)
        {
            throw new CurException(
                CurErrorCodes.ReportNotFound,
                $"No CUR manifest for report '{settings.ReportName}' under s3://{settings.BucketName}/{CurWorkflows.Cur.Manifest.CurReportLayout.ReportRoot(settings.ReportPrefix, settings.ReportName)}.");
        }

        var now = time.GetUtcNow().UtcDateTime;
        var firstMonth = new DateOnly(now.Year, now.Month, 1).AddMonths(-options.Value.BackfillMonths);
        var stored = (await runs.GetIngestedPeriodsAsync(settings.IntegrationId, cancellationToken)).ToDictionary(p => p.PeriodStart);
        var periods = new List<PeriodToCollect>();
        var skipped = 0;
        foreach (var found in manifests.Where(m => m.Period.Month >= firstMonth))
        {
            if (stored.TryGetValue(found.Period.Month, out var existing) && existing.IsFinal)
            {
                skipped++;
                continue;
            }

            heartbeat.Details = $"reading the manifest of {found.Period.FolderName}";
            var manifest = await bucket.ReadManifestAsync(role, settings.BucketName, found.ManifestKey, cancellationToken);
            if (manifest.Manifest.BillingPeriod.Month != found.Period.Month)
            {
                throw new CurException(
                    CurErrorCodes.ReportMalformed,
                    $"{found.ManifestKey}: billingPeriod starts {manifest.Manifest.BillingPeriod.Start:yyyy-MM-dd}, but the manifest is in the folder of {found.Period.FolderName}.");
            }

            var eTag = manifest.ETag ?? found.ManifestETag ?? "";
            if (existing is not null && existing.AssemblyId == manifest.Manifest.AssemblyId && existing.ManifestETag == eTag)
            {
                skipped++;
                continue;
            }

            periods.Add(new PeriodToCollect(
                found.Period.Month.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                found.ManifestKey,
                manifest.Manifest.AssemblyId,
                eTag,
                manifest.Manifest.ReportKeys,
                [.. manifest.Manifest.ReportKeys.Select(key => listedETags.GetValueOrDefault(key, ""))]));
        }

        return new CollectionPlan(periods, periods.Count + skipped, skipped, options.Value.MaxParallelFiles, settings.TagKey, options.Value.WorkerQueueTimeout);
    });

    internal static async Task<IntegrationCollectionSettings> SettingsAsync(IntegrationStore integrations, CollectionRunRef run)
    {
        var settings = await integrations.GetCollectionSettingsAsync(Guid.Parse(run.IntegrationId), ActivityExecutionContext.Current.CancellationToken);
        return settings ?? throw new ApplicationFailureException(
            $"Integration {run.IntegrationId} does not exist.", errorType: CollectionErrorCodes.Internal, nonRetryable: true);
    }

    internal static CustomerRole RoleOf(IntegrationCollectionSettings settings) =>
        new(settings.IntegrationId.ToString(), settings.RoleArn, settings.ExternalId);
}
