using System.Text.Json.Serialization;

namespace CurWorkflows.Workflows;

/// <summary>Input of one <see cref="CollectionWorkflow"/> run. Carries identifiers only: the integration's
/// role, external ID and bucket are read from the database by the activities, never put into history.</summary>
public sealed record CollectionWorkflowInput(string IntegrationId, string OrganizationId);

/// <summary>Short result of a collection run: counts and totals, never the aggregates themselves.</summary>
/// <param name="PeriodsStored">Billing periods whose aggregates replaced the stored ones.</param>
/// <param name="PeriodsSkipped">Billing periods whose assembly was already stored.</param>
/// <param name="BytesDownloaded">Bytes of report files fetched from the bucket, counting a period's files again when
/// they were fetched again (on another worker, or because the spool could not be trusted). A download whose worker went
/// away before it finished is not counted.</param>
/// <param name="UnblendedTotal">Sum of the unblended cost of the stored periods, as an invariant decimal string.</param>
public sealed record CollectionSummary(
    int PeriodsFound = 0,
    int PeriodsStored = 0,
    int PeriodsSkipped = 0,
    int Files = 0,
    long Rows = 0,
    long BytesDownloaded = 0,
    string UnblendedTotal = "0",
    string NetUnblendedTotal = "0",
    string AmortizedTotal = "0");

/// <summary>Identifies one collection run to the activities.</summary>
/// <param name="CollectionRunId">The stored run's id (staging area key); empty until <c>BeginCollectionRun</c> returned it.</param>
public sealed record CollectionRunRef(string IntegrationId, string OrganizationId, string CollectionWorkflowId, string CollectionRunId = "");

/// <summary>What to collect: the periods whose manifest assembly is not stored yet.</summary>
/// <param name="MaxParallelFiles">The worker's configured limit, recorded here so that replay is deterministic.</param>
/// <param name="TagKey">The integration's package tag key (not a secret).</param>
/// <param name="WorkerQueueTimeout">The configured wait for a worker's own queue (null in runs recorded before it
/// existed: the former fixed five minutes).</param>
public sealed record CollectionPlan(
    IReadOnlyList<PeriodToCollect> Periods,
    int PeriodsFound,
    int PeriodsSkipped,
    int MaxParallelFiles = 2,
    string TagKey = "user:md-package",
    TimeSpan? WorkerQueueTimeout = null);

/// <summary>One billing period's manifest assembly to collect.</summary>
/// <param name="BillingPeriod">First day of the billing month, as <c>yyyy-MM-dd</c>.</param>
/// <param name="FileETags">Each file's ETag in the bucket listing the plan was made from ("" when not listed; null in runs
/// planned before it was recorded). A file found with another ETag belongs to a later delivery.</param>
public sealed record PeriodToCollect(
    string BillingPeriod, string ManifestKey, string AssemblyId, string ManifestETag, IReadOnlyList<string> FileKeys, IReadOnlyList<string>? FileETags = null);

/// <summary>Download (and then aggregate) one report file of a period.</summary>
/// <param name="Period">The period, without its list of files since the nineteenth session: with it, every file's
/// input held every key, and a period of N files put N^2 keys into the run's history.</param>
/// <param name="OwnFileKey">This file's key (null in runs before it: the key is <c>Period.FileKeys[FileIndex]</c>).</param>
/// <param name="OwnFileETag">This file's ETag in the plan's listing (null when unknown).</param>
public sealed record ReportFileWork(
    CollectionRunRef Run, PeriodToCollect Period, int FileIndex, string TagKey, string? OwnFileKey = null, string? OwnFileETag = null)
{
    [JsonIgnore]
    public string FileKey => OwnFileKey ?? Period.FileKeys[FileIndex];

    /// <summary>The file's ETag in the listing the plan was made from, or "" when not known.</summary>
    [JsonIgnore]
    public string ListedETag => OwnFileKey is not null
        ? OwnFileETag ?? ""
        : Period.FileETags is { } eTags && FileIndex < eTags.Count ? eTags[FileIndex] : "";

    /// <summary>The work on one file of <paramref name="period"/>: its key and ETag, and the period without its list.</summary>
    public static ReportFileWork Of(CollectionRunRef run, PeriodToCollect period, int index, string tagKey) =>
        new(run, period with { FileKeys = [], FileETags = null }, index, tagKey, period.FileKeys[index], period.FileETags?[index]);
}

/// <summary>A file in the spool directory of the worker that downloaded it.</summary>
/// <param name="JoinedTransfer">The aggregation of the file had started the transfer, and counts its bytes.</param>
public sealed record SpooledFile(string Path, long Bytes, long BytesTransferred, long ResumedFromBytes, bool JoinedTransfer = false);

/// <param name="SpooledPath">The complete spool file (empty when <paramref name="WhileDownloading"/>).</param>
/// <param name="WhileDownloading">Read the file as this host downloads it (joining that download, or starting it).</param>
public sealed record AggregateFileInput(ReportFileWork Work, string SpooledPath, bool WhileDownloading = false);

/// <summary>What aggregating one file produced: a state file next to the spooled file, and its figures.</summary>
/// <param name="ResumedFromRow">Rows already aggregated by an earlier attempt (0 for a fresh start).</param>
/// <param name="RowsRead">Rows this attempt read.</param>
/// <param name="AttributedUnblended">Unblended cost of untagged rows attributed to a package through the tagging API.</param>
/// <param name="BytesDownloaded">Bytes fetched again because the spool file could not be trusted (the host went down
/// since its download, or it was gone).</param>
/// <param name="ETag">The ETag of the object the rows were read from (null when no longer known).</param>
public sealed record FileAggregateResult(
    string StatePath, long Rows, string UnblendedTotal, int Aggregates, long ResumedFromRow, long RowsRead, string AttributedUnblended = "0",
    long BytesDownloaded = 0, string? ETag = null);

/// <summary>Put the aggregates of a period's files (state files on this worker) into the staging area.</summary>
public sealed record StagePeriodInput(CollectionRunRef Run, PeriodToCollect Period, IReadOnlyList<string> StatePaths, string TagKey);

/// <param name="IsFinal">Whether every row carried an invoice id (the period will not be restated).</param>
public sealed record StagePeriodResult(long StagedRows, long Rows, bool IsFinal, string UnblendedTotal, string NetUnblendedTotal, string AmortizedTotal);

public sealed record PersistPeriodInput(CollectionRunRef Run, PeriodToCollect Period, long Rows, bool IsFinal);

/// <param name="Outcome">Inserted, Replaced or Unchanged (same assembly already stored).</param>
public sealed record PersistPeriodResult(string Outcome, long AggregateRows, string UnblendedTotal, string NetUnblendedTotal, string AmortizedTotal);
