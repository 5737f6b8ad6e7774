namespace CurWorkflows.Storage.Entities;

/// <summary>
/// A generation of cost rows that readers do not see: a collection run's rows of one integration's billing period
/// while they are being written (staging), or after a newer run replaced them (superseded, awaiting deletion).
/// The active generation of a period is named by <see cref="BillingPeriod.CollectionRunId"/> and has no row here.
/// </summary>
public sealed class CostGeneration
{
    public Guid CollectionRunId { get; set; }

    public Guid IntegrationId { get; set; }

    public DateOnly BillingPeriod { get; set; }

    /// <summary>When the run started writing; staging older than <c>Storage:StagingRetention</c> belongs to an abandoned run.</summary>
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>Set when a replace made another run active: the rows are invisible and deleted at once (or by the next sweep).</summary>
    public DateTimeOffset? SupersededAt { get; set; }
}
