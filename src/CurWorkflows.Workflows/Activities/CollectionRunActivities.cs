using CurWorkflows.Cur.Aggregation;
using CurWorkflows.Storage.Stores;
using Temporalio.Activities;
using StoredOutcome = CurWorkflows.Storage.Entities.CollectionRunOutcome;

namespace CurWorkflows.Workflows.Activities;

/// <summary>The run rows the API shows: started by the collection, completed by the integration loop.</summary>
public sealed class CollectionRunActivities(CollectionRunStore runs, TimeProvider time)
{
    /// <summary>Records the start of a run (idempotent per workflow id) and returns its id, the staging area key.</summary>
    [Activity(ActivityNames.BeginCollectionRun)]
    public async Task<string> BeginAsync(CollectionRunRef run)
    {
        var info = ActivityExecutionContext.Current.Info;
        var view = await runs.StartAsync(
            new StartCollectionRunRequest(Guid.Parse(run.IntegrationId), run.CollectionWorkflowId, info.WorkflowRunId ?? "", time.GetUtcNow()),
            ActivityExecutionContext.Current.CancellationToken);
        return view.Id.ToString();
    }

    /// <summary>Records how a run ended (and drops whatever it left in staging).</summary>
    [Activity(ActivityNames.RecordCollectionRun)]
    public async Task RecordAsync(CollectionRunRecord record)
    {
        var cancellationToken = ActivityExecutionContext.Current.CancellationToken;
        var started = await runs.StartAsync(
            new StartCollectionRunRequest(
                Guid.Parse(record.IntegrationId), record.WorkflowId, record.RunId ?? "", new DateTimeOffset(record.StartedUtc, TimeSpan.Zero)),
            cancellationToken);
        var summary = record.Summary ?? new CollectionSummary();
        await runs.CompleteAsync(
            new CompleteCollectionRunRequest(
                started.Id,
                record.Outcome switch
                {
                    CollectionRunOutcome.Succeeded => StoredOutcome.Succeeded,
                    CollectionRunOutcome.Failed => StoredOutcome.Failed,
                    _ => StoredOutcome.Abandoned,
                },
                new DateTimeOffset(record.FinishedUtc, TimeSpan.Zero),
                record.ErrorCode,
                record.ErrorMessage,
                summary.PeriodsStored,
                summary.PeriodsSkipped,
                summary.Files,
                summary.Rows,
                summary.BytesDownloaded,
                new CostAmounts(Amount(summary.UnblendedTotal), Amount(summary.NetUnblendedTotal), Amount(summary.AmortizedTotal))),
            cancellationToken);
    }

    private static decimal Amount(string value) => decimal.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
}
