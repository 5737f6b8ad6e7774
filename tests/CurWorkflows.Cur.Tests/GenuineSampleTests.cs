using CurWorkflows.Cur.Aggregation;
using CurWorkflows.Cur.Reading;

namespace CurWorkflows.Cur.Tests;

public class GenuineSampleTests
{
    [Fact]
    public void FocusConvertersSample_AggregatesToTheReadmeTotals()
    {
        var result = CostAggregator.AggregateFile(CurSource.FromFile(TestPaths.Sample("focus_converters__sample-anonymous-aws-export-dataset.csv")));

        Assert.Equal(1281, result.Rows);
        Assert.Equal(1.68230869740m, result.UnblendedRowSum);
        Assert.Equal(1.68230869740m, result.Totals.Unblended);
        Assert.Equal(1269, result.RowsByLineItemType["Usage"]);
        Assert.Equal(12, result.RowsByLineItemType["Tax"]);
        Assert.Equal(2, result.RowsByLineItemType.Count);
        Assert.False(result.IsFinal);
        Assert.False(result.TagColumnPresent);
        Assert.Equal(1m, result.UntaggedShare);
        Assert.Equal(new DateOnly(2023, 11, 1), result.BillingPeriodStart);
        Assert.All(result.Daily, d => Assert.Equal(PackageNames.Untagged, d.Package));
        Assert.All(result.Daily, d => Assert.InRange(d.UsageDate, new DateOnly(2023, 11, 1), new DateOnly(2023, 11, 14)));
        // No discounts or savings plans in this sample: every view equals unblended.
        Assert.Equal(result.Totals.Unblended, result.Totals.Amortized);
        Assert.Equal(result.Totals.Unblended, result.Totals.NetUnblended);
    }

    [Fact]
    public void LogzioZipSample_AggregatesToTheReadmeTotals()
    {
        var result = CostAggregator.AggregateFile(CurSource.FromFile(TestPaths.Sample("logzio__test-billing-report-1.csv.zip")));

        Assert.Equal(19412, result.Rows);
        Assert.Equal(218.1678632876m, result.UnblendedRowSum);
        Assert.Equal(218.1678632876m, result.Totals.Unblended);
        Assert.Equal(19412, result.RowsByLineItemType["Usage"]);
        Assert.Single(result.RowsByLineItemType);
        Assert.Equal(new DateOnly(2018, 2, 1), result.BillingPeriodStart);
        Assert.Contains(result.DailyResources, r => r.ResourceId.Length > 0);
        Assert.Contains(result.DailyResources, r => r.ResourceId.Length == 0);
        Assert.Equal(218.1678632876m, result.Monthly.Sum(m => m.Cost.Unblended));
        Assert.True(result.DecompressedBytes > 10_000_000);
    }
}
