namespace CurWorkflows.Storage.Entities;

/// <summary>
/// The billing period of one integration as last ingested: which manifest assembly produced the stored cost
/// rows, and their totals. The replace switches <see cref="CollectionRunId"/> to the new run in one transaction.
/// </summary>
public sealed class BillingPeriod
{
    public Guid IntegrationId { get; set; }

    /// <summary>First day of the billing month.</summary>
    public DateOnly PeriodStart { get; set; }

    public Guid OrganizationId { get; set; }

    public required string AssemblyId { get; set; }

    public required string ManifestETag { get; set; }

    /// <summary>True once the invoice was issued: the period will not be restated again.</summary>
    public bool IsFinal { get; set; }

    /// <summary>Currency of the totals; when a period mixes currencies the totals are per-currency sums and this is "*".</summary>
    public string Currency { get; set; } = "";

    public decimal Unblended { get; set; }

    public decimal NetUnblended { get; set; }

    public decimal Amortized { get; set; }

    /// <summary>CUR line items read for this period (as reported by the caller).</summary>
    public long LineItemRows { get; set; }

    /// <summary>Stored aggregate rows (daily package + daily resource + monthly package).</summary>
    public long AggregateRows { get; set; }

    public DateTimeOffset IngestedAt { get; set; }

    /// <summary>The run whose cost rows are the period's active generation: the only rows readers see.</summary>
    public Guid CollectionRunId { get; set; }
}
