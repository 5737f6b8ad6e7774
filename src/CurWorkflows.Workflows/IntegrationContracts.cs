using System.Text.Json.Serialization;

namespace CurWorkflows.Workflows;

/// <summary>When collections are due: every <see cref="Interval"/> after the last run, or at the times of <see cref="Cron"/> (UTC).</summary>
public sealed record CollectionSchedule(TimeSpan Interval, string? Cron = null)
{
    public static CollectionSchedule Daily { get; } = new(TimeSpan.FromDays(1));
}

/// <summary>
/// Input of one execution of <see cref="IntegrationWorkflow"/>. Continue-as-new carries the state of the
/// previous execution in the optional fields.
/// </summary>
/// <param name="NextDueUtc">When the next collection is due; null means at once (a new integration).</param>
/// <param name="RefreshPending">A refresh arrived while the previous execution was running a collection.</param>
/// <param name="LastRun">The outcome of the most recent collection run, if any.</param>
/// <param name="CollectionTimeout">Upper bound for one collection run, after which it is failed with a timeout.</param>
public sealed record IntegrationWorkflowInput(
    string IntegrationId,
    string OrganizationId,
    CollectionSchedule Schedule,
    DateTime? NextDueUtc = null,
    bool RefreshPending = false,
    CollectionRunRecord? LastRun = null,
    TimeSpan? CollectionTimeout = null,
    int CompletedRuns = 0);

[JsonConverter(typeof(JsonStringEnumConverter<CollectionRunOutcome>))]
public enum CollectionRunOutcome
{
    Succeeded,
    Failed,
    Cancelled,
}

[JsonConverter(typeof(JsonStringEnumConverter<IntegrationState>))]
public enum IntegrationState
{
    Idle,
    Running,
    Disabled,

    /// <summary>The workflow has ended although nobody disabled it here (an operator terminated it, say): no collection
    /// runs until a refresh or an enable starts it again. Never reported by the workflow itself.</summary>
    Stopped,
}

/// <summary>What one collection run did, as recorded in the database and shown by the status query.</summary>
/// <param name="ErrorCode">One of the stable error codes (see <c>CurErrorCodes</c>) when the run failed.</param>
public sealed record CollectionRunRecord(
    string IntegrationId,
    string OrganizationId,
    string WorkflowId,
    string? RunId,
    DateTime StartedUtc,
    DateTime FinishedUtc,
    CollectionRunOutcome Outcome,
    string? ErrorCode = null,
    string? ErrorMessage = null,
    CollectionSummary? Summary = null);

/// <summary>The answer of the <c>GetStatus</c> query.</summary>
public sealed record IntegrationStatus(
    string IntegrationId,
    IntegrationState State,
    string? CurrentRunWorkflowId,
    DateTime? CurrentRunStartedUtc,
    CollectionRunRecord? LastRun,
    DateTime? NextDueUtc,
    bool RefreshPending,
    int CompletedRuns);
