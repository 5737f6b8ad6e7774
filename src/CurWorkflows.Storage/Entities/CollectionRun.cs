namespace CurWorkflows.Storage.Entities;

public enum CollectionRunOutcome
{
    Running = 0,
    Succeeded = 1,
    Failed = 2,
    Abandoned = 3,
}

/// <summary>One collection run of an integration (one CollectionWorkflow execution).</summary>
public sealed class CollectionRun
{
    public Guid Id { get; set; }

    public Guid IntegrationId { get; set; }

    public Guid OrganizationId { get; set; }

    public required string WorkflowId { get; set; }

    public string WorkflowRunId { get; set; } = "";

    public DateTimeOffset StartedAt { get; set; }

    public DateTimeOffset? EndedAt { get; set; }

    public CollectionRunOutcome Outcome { get; set; } = CollectionRunOutcome.Running;

    /// <summary>One of the stable error codes (<c>access_denied</c>, ...) when the run failed.</summary>
    public string? ErrorCode { get; set; }

    public string? ErrorMessage { get; set; }

    public int PeriodsIngested { get; set; }

    public int PeriodsSkipped { get; set; }

    public int Files { get; set; }

    /// <summary>CUR line items read.</summary>
    public long Rows { get; set; }

    public long Bytes { get; set; }

    public decimal Unblended { get; set; }

    public decimal NetUnblended { get; set; }

    public decimal Amortized { get; set; }
}
