namespace CurWorkflows.ReportGenerator;

/// <summary>What a generated legacy CUR CSV looks like. Same options and seed, same bytes.</summary>
public sealed record ReportGeneratorOptions
{
    public int Seed { get; init; } = 1;

    public long Rows { get; init; } = 10_000;

    /// <summary>First day of the billing period (a month).</summary>
    public DateOnly BillingPeriodStart { get; init; } = new(2024, 11, 1);

    /// <summary>Days of the period with usage (from the first); the month's length when null.</summary>
    public int? Days { get; init; }

    /// <summary>About 120 columns (product, pricing, reservation, savings plan details) instead of about 45.</summary>
    public bool WideColumns { get; init; } = true;

    public string TagKey { get; init; } = "user:md-package";

    /// <summary>Whether the `resourceTags/{TagKey}` column exists at all.</summary>
    public bool IncludeTagColumn { get; init; } = true;

    public bool IncludeResourceIds { get; init; } = true;

    public bool IncludeNetUnblendedCost { get; init; } = true;

    /// <summary>Rows carry a `bill/InvoiceId` (the period is invoiced).</summary>
    public bool Final { get; init; }

    public string LineEnding { get; init; } = "\r\n";

    public bool ByteOrderMark { get; init; }

    /// <summary>Package tag values; odd characters on purpose.</summary>
    public IReadOnlyList<string> Packages { get; init; } =
    [
        "api-gateway", "team/data:etl", "billing+payments=core@corp", "web frontend", "legacy \"monolith\"", "ünïcode-пакет",
    ];

    /// <summary>Share of usage rows without the tag (tax, credits and most fees are untagged anyway).</summary>
    public double UntaggedUsageFraction { get; init; } = 0.15;

    /// <summary>
    /// Share of usage rows whose resource has a package that the CUR does not show (tag not yet activated): written
    /// untagged, and listed in <see cref="GeneratedReportTruth.TaggingApiPackagesByArn"/>.
    /// </summary>
    public double TaggingApiOnlyFraction { get; init; } = 0.05;
}
