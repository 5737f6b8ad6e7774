using System.Globalization;
using CurWorkflows.Storage.Costs;
using Temporalio.Activities;
using Temporalio.Exceptions;

namespace CurWorkflows.Workflows.Activities;

/// <summary>Swaps a period's staged aggregates into the live tables (one transaction; same assembly: unchanged).</summary>
public sealed class PersistActivities(CostWriter costs)
{
    /// <summary>The failure type of a replace whose run's staging was discarded: the run has ended, nothing to retry.</summary>
    public const string StagingDiscardedError = "staging_discarded";

    [Activity(ActivityNames.PersistPeriod)]
    public async Task<PersistPeriodResult> PersistAsync(PersistPeriodInput input)
    {
        try
        {
            return await ReplaceAsync(input);
        }
        catch (StagingDiscardedException e)
        {
            throw new ApplicationFailureException(e.Message, e, errorType: StagingDiscardedError, nonRetryable: true);
        }
    }

    private async Task<PersistPeriodResult> ReplaceAsync(PersistPeriodInput input)
    {
        var result = await costs.ReplaceBillingPeriodAsync(
            new ReplaceBillingPeriodRequest(
                Guid.Parse(input.Run.CollectionRunId),
                Guid.Parse(input.Run.IntegrationId),
                DateOnly.ParseExact(input.Period.BillingPeriod, "yyyy-MM-dd", CultureInfo.InvariantCulture),
                input.Period.AssemblyId,
                input.Period.ManifestETag,
                input.IsFinal,
                input.Rows),
            ActivityExecutionContext.Current.CancellationToken);
        return new PersistPeriodResult(
            result.Outcome.ToString(),
            result.DailyPackageRows + result.DailyResourceRows + result.MonthlyPackageRows,
            ReportFileActivities.Text(result.Totals.Unblended),
            ReportFileActivities.Text(result.Totals.NetUnblended),
            ReportFileActivities.Text(result.Totals.Amortized));
    }
}
