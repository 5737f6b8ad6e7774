using Temporalio.Common;

namespace CurWorkflows.Workflows;

/// <summary>
/// CurWorkflows' own metrics, emitted through the Temporal runtime's meter, so that they come out wherever the SDK's do
/// (<c>Temporal:MetricsPrometheusAddress</c> or <c>Temporal:MetricsOtlpEndpoint</c>) with its tags (namespace, task
/// queue, workflow or activity type). Workflow metrics are not emitted again when a history is replayed.
/// </summary>
internal static class CurMetrics
{
    public const string CollectionRuns = "curworkflows_collection_runs";

    public const string ReportBytesDownloaded = "curworkflows_report_bytes_downloaded";

    public const string ReportRowsAggregated = "curworkflows_report_rows_aggregated";

    public const string CostRowsStaged = "curworkflows_cost_rows_staged";

    /// <summary>One finished collection run; <paramref name="errorCode"/> is empty for a success.</summary>
    public static void CountRun(MetricMeter meter, string outcome, string errorCode) =>
        meter.CreateCounter<long>(CollectionRuns, description: "Collection runs by outcome and error code")
            .Add(1, [new("outcome", outcome), new("error_code", errorCode)]);

    public static void CountBytesDownloaded(MetricMeter meter, long bytes) =>
        meter.CreateCounter<long>(ReportBytesDownloaded, "By", "Bytes of report files fetched from S3").Add(bytes);

    public static void CountRowsAggregated(MetricMeter meter, long rows) =>
        meter.CreateCounter<long>(ReportRowsAggregated, description: "CUR rows read by aggregation attempts").Add(rows);

    public static void CountRowsStaged(MetricMeter meter, long rows) =>
        meter.CreateCounter<long>(CostRowsStaged, description: "Cost rows written to the staging area").Add(rows);
}
