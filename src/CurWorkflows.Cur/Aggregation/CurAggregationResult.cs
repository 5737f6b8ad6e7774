namespace CurWorkflows.Cur.Aggregation;

/// <summary>
/// What one billing period's files add up to. <see cref="Totals"/> equals <see cref="UnblendedRowSum"/> (and the
/// other views their row sums) exactly: <see cref="CostAggregator.GetResult"/> checks it before returning.
/// </summary>
public sealed record CurAggregationResult
{
    public IReadOnlyList<string> Files { get; init; } = [];

    public long Rows { get; init; }

    /// <summary>Rows per `lineItem/LineItemType` value, as written in the file.</summary>
    public IReadOnlyDictionary<string, long> RowsByLineItemType { get; init; } = new Dictionary<string, long>();

    public CostAmounts Totals { get; init; }

    /// <summary>The sum of `lineItem/UnblendedCost` over every row, summed as the rows were read (reconciliation).</summary>
    public decimal UnblendedRowSum { get; init; }

    /// <summary>Cost of rows that end up without a package (no tag, and no match in the resource index).</summary>
    public CostAmounts Untagged { get; init; }

    public long UntaggedRows { get; init; }

    /// <summary>Untagged unblended cost / total unblended cost (0 when the total is 0).</summary>
    public decimal UntaggedShare { get; init; }

    /// <summary>Cost of rows with an empty tag cell that the resource index gave a package.</summary>
    public CostAmounts AttributedByResourceIndex { get; init; }

    public long RowsAttributedByResourceIndex { get; init; }

    /// <summary>The tag column looked for, e.g. `resourceTags/user:md-package`.</summary>
    public string TagColumn { get; init; } = "";

    /// <summary>Whether any file had the tag column; when none had it, everything is untagged.</summary>
    public bool TagColumnPresent { get; init; }

    /// <summary>Whether there were rows and every one carried a `bill/InvoiceId`: the period is invoiced (final). A month's
    /// purchases carry theirs while its usage is still estimated.</summary>
    public bool IsFinal { get; init; }

    /// <summary>First day of the billing period (`bill/BillingPeriodStartDate`, else the month of the earliest usage).</summary>
    public DateOnly? BillingPeriodStart { get; init; }

    public IReadOnlyList<string> Currencies { get; init; } = [];

    /// <summary>Decompressed CSV bytes read (all files).</summary>
    public long DecompressedBytes { get; init; }

    public long CompressedBytes { get; init; }

    /// <summary>Ordered by day, package, product, currency (ordinal).</summary>
    public IReadOnlyList<DailyPackageCost> Daily { get; init; } = [];

    /// <summary>Ordered by day, package, product, currency, resource id (ordinal).</summary>

    public IReadOnlyList<DailyResourceCost> DailyResources { get; init; } = [];

    public IReadOnlyList<MonthlyPackageCost> Monthly { get; init; } = [];
}
