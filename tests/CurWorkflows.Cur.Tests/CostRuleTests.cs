using System.Text;
using CurWorkflows.Cur.Aggregation;
using CurWorkflows.Cur.Reading;

namespace CurWorkflows.Cur.Tests;

public class CostRuleTests
{
    private const string Header =
        "lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UnblendedCost,lineItem/NetUnblendedCost,lineItem/ProductCode,lineItem/CurrencyCode," +
        "savingsPlan/SavingsPlanEffectiveCost,savingsPlan/TotalCommitmentToDate,savingsPlan/UsedCommitment,reservation/EffectiveCost," +
        "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod,reservation/UnusedRecurringFee,reservation/ReservationARN,resourceTags/user:md-package";

    // type, unblended, net, sp effective, sp total, sp used, ri effective, ri unused upfront, ri unused recurring, ri arn, expected amortized
    public static IEnumerable<object[]> Rows => new object[][]
    {
        ["Usage", "1.25", "1.20", "", "", "", "", "", "", "", 1.25m, 1.20m],
        ["SavingsPlanCoveredUsage", "2.00", "", "1.40", "", "", "", "", "", "", 1.40m, 2.00m],
        ["SavingsPlanRecurringFee", "10", "10", "", "10.0000000001", "7.5", "", "", "", "", 2.5000000001m, 10m],
        ["SavingsPlanNegation", "-2.00", "-2.00", "", "", "", "", "", "", "", 0m, -2.00m],
        ["SavingsPlanUpfrontFee", "300", "300", "", "", "", "", "", "", "", 0m, 300m],
        ["DiscountedUsage", "0", "0", "", "", "", "0.3333333333", "", "", "", 0.3333333333m, 0m],
        ["RIFee", "50", "49", "", "", "", "", "4.1", "0.9", "arn:aws:ec2:::ri-1", 5.0m, 49m],
        ["Fee", "100", "100", "", "", "", "", "", "", "arn:aws:ec2:::ri-1", 0m, 100m],
        ["Fee", "15", "15", "", "", "", "", "", "", "", 15m, 15m],
        ["Credit", "-5", "-5", "", "", "", "", "", "", "", -5m, -5m],
        ["Refund", "-1.5", "", "", "", "", "", "", "", "", -1.5m, -1.5m],
        ["Tax", "0.19", "", "", "", "", "", "", "", "", 0.19m, 0.19m],
        ["EdpDiscount", "-0.07", "-0.07", "", "", "", "", "", "", "", -0.07m, -0.07m],
        ["BundledDiscount", "-0.01", "-0.01", "", "", "", "", "", "", "", -0.01m, -0.01m],
        ["PrivateRateDiscount", "-0.02", "-0.02", "", "", "", "", "", "", "", -0.02m, -0.02m],
        ["Discount", "-0.03", "-0.03", "", "", "", "", "", "", "", -0.03m, -0.03m],
        ["SomeFutureType", "0.5", "0.5", "", "", "", "", "", "", "", 0.5m, 0.5m],
    };

    [Theory]
    [MemberData(nameof(Rows))]
    public void AmortizedAndNetCost_FollowTheLineItemTypeTable(
        string type, string unblended, string net, string spEffective, string spTotal, string spUsed, string riEffective, string riUnusedUpfront,
        string riUnusedRecurring, string riArn, decimal expectedAmortized, decimal expectedNet)
    {
        var csv = $"{Header}\r\n{type},2024-11-03T00:00:00Z,{unblended},{net},AmazonEC2,USD,{spEffective},{spTotal},{spUsed},{riEffective},{riUnusedUpfront},{riUnusedRecurring},{riArn},pkg\r\n";

        var result = CostAggregator.AggregateFile(CurSource.FromBytes("rules.csv", Encoding.UTF8.GetBytes(csv)));

        var cost = Assert.Single(result.Daily);
        Assert.Equal(decimal.Parse(unblended, System.Globalization.CultureInfo.InvariantCulture), cost.Cost.Unblended);
        Assert.Equal(expectedAmortized, cost.Cost.Amortized);
        Assert.Equal(expectedNet, cost.Cost.NetUnblended);
        Assert.Equal(1, result.RowsByLineItemType[type]);
        Assert.Equal(new DateOnly(2024, 11, 3), cost.UsageDate);
        Assert.Equal("pkg", cost.Package);
    }

    [Fact]
    public void Aggregates_SplitByDayPackageResourceProductAndCurrency()
    {
        var csv = """
            lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UnblendedCost,lineItem/ProductCode,lineItem/CurrencyCode,lineItem/ResourceId,resourceTags/user:md-package
            Usage,2024-11-01T00:00:00Z,1.0000000001,AmazonEC2,USD,i-1,a
            Usage,2024-11-01T00:00:00.000Z,2,AmazonEC2,USD,i-2,a
            Usage,2024-11-01T23:00:00Z,4,AmazonS3,USD,b1,a
            Usage,2024-11-02T00:00:00Z,8,AmazonEC2,USD,i-1,a
            Usage,2024-11-02T00:00:00Z,16,AmazonEC2,EUR,i-1,a
            Usage,2024-11-02T00:00:00Z,32,AmazonEC2,USD,i-3,
            Tax,2024-11-01T00:00:00Z,64,AmazonEC2,USD,,
            """;

        var result = CostAggregator.AggregateFile(CurSource.FromBytes("keys.csv", Encoding.UTF8.GetBytes(csv)));

        Assert.Equal(127.0000000001m, result.Totals.Unblended);
        Assert.Equal(96m, result.Untagged.Unblended);
        Assert.Equal(96m / 127.0000000001m, result.UntaggedShare);
        Assert.Equal(
            [
                new DailyPackageCost(new(2024, 11, 1), "", "AmazonEC2", "USD", new(64, 64, 64)),
                new DailyPackageCost(new(2024, 11, 1), "a", "AmazonEC2", "USD", new(3.0000000001m, 3.0000000001m, 3.0000000001m)),
                new DailyPackageCost(new(2024, 11, 1), "a", "AmazonS3", "USD", new(4, 4, 4)),
                new DailyPackageCost(new(2024, 11, 2), "", "AmazonEC2", "USD", new(32, 32, 32)),
                new DailyPackageCost(new(2024, 11, 2), "a", "AmazonEC2", "EUR", new(16, 16, 16)),
                new DailyPackageCost(new(2024, 11, 2), "a", "AmazonEC2", "USD", new(8, 8, 8)),
            ],
            result.Daily);
        Assert.Equal(7, result.DailyResources.Count);
        Assert.Contains(new DailyResourceCost(new(2024, 11, 1), "a", "i-2", "AmazonEC2", "USD", new(2, 2, 2)), result.DailyResources);
        Assert.Equal(
            [
                new MonthlyPackageCost(new(2024, 11, 1), "", "USD", new(96, 96, 96)),
                new MonthlyPackageCost(new(2024, 11, 1), "a", "EUR", new(16, 16, 16)),
                new MonthlyPackageCost(new(2024, 11, 1), "a", "USD", new(15.0000000001m, 15.0000000001m, 15.0000000001m)),
            ],
            result.Monthly);
        Assert.Equal(["EUR", "USD"], result.Currencies);
    }

    [Theory]
    [InlineData("2024-11-30T23:00:00-02:00", 2024, 12, 1)]
    [InlineData("2024-11-30", 2024, 11, 30)]
    [InlineData("2024-11-30T10:00:00.123456Z", 2024, 11, 30)]
    public void UsageDay_IsTheUtcDay(string timestamp, int year, int month, int day)
    {
        var csv = $"lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UnblendedCost\nUsage,{timestamp},1\n";

        var result = CostAggregator.AggregateFile(CurSource.FromBytes("d.csv", Encoding.UTF8.GetBytes(csv)));

        Assert.Equal(new DateOnly(year, month, day), Assert.Single(result.Daily).UsageDate);
    }

    [Theory]
    [InlineData("1.5E-7", "0.00000015")]
    [InlineData("-0.0000000001", "-0.0000000001")]
    [InlineData("123456789012.123", "123456789012.123")]
    [InlineData("0.100000000000000000000", "0.1")]
    [InlineData("", "0")]
    [InlineData(".5", "0.5")]
    public void Costs_ParseExactly(string text, string expected)
    {
        var csv = $"lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UnblendedCost\nUsage,2024-11-01T00:00:00Z,{text}\n";

        var result = CostAggregator.AggregateFile(CurSource.FromBytes("n.csv", Encoding.UTF8.GetBytes(csv)));

        Assert.Equal(decimal.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), result.Totals.Unblended);
    }

    [Theory]
    [InlineData("123456", "123456", true)]
    // A purchase invoiced mid-month beside usage still estimated: the month goes on changing.
    [InlineData("", "123456", false)]
    [InlineData("", "", false)]
    public void InvoiceIds_OnEveryRow_MarkThePeriodFinal(string usageInvoice, string purchaseInvoice, bool final)
    {
        var csv = "bill/InvoiceId,bill/BillingPeriodStartDate,lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UnblendedCost\n" +
            $"{usageInvoice},2024-10-01T00:00:00Z,Usage,2024-10-02T00:00:00Z,1\n" +
            $"{purchaseInvoice},2024-10-01T00:00:00Z,Fee,2024-10-01T00:00:00Z,100\n";

        var result = CostAggregator.AggregateFile(CurSource.FromBytes("i.csv", Encoding.UTF8.GetBytes(csv)));

        Assert.Equal(final, result.IsFinal);
        Assert.Equal(new DateOnly(2024, 10, 1), result.BillingPeriodStart);
    }

    [Fact]
    public void WithoutAnInvoiceColumn_OrRows_ThePeriodIsNotFinal()
    {
        var noColumn = "bill/BillingPeriodStartDate,lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UnblendedCost\n" +
            "2024-10-01T00:00:00Z,Usage,2024-10-02T00:00:00Z,1\n";
        var noRows = "bill/InvoiceId,bill/BillingPeriodStartDate,lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UnblendedCost\n";

        Assert.False(CostAggregator.AggregateFile(CurSource.FromBytes("c.csv", Encoding.UTF8.GetBytes(noColumn))).IsFinal);
        Assert.False(CostAggregator.AggregateFile(CurSource.FromBytes("r.csv", Encoding.UTF8.GetBytes(noRows))).IsFinal);
    }

    [Fact]
    public void QuotedFieldsWithCommasQuotesAndNewlines_AreOneField()
    {
        var csv = "lineItem/LineItemDescription,lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UnblendedCost,resourceTags/user:md-package\r\n" +
            "\"a, \"\"quoted\"\"\r\nmulti-line, description\",Usage,2024-11-01T00:00:00Z,1.5,\"pkg, with \"\"comma\"\"\"\r\n" +
            "plain,Usage,2024-11-01T00:00:00Z,2.5,\"\"\r\n";

        var result = CostAggregator.AggregateFile(CurSource.FromBytes("q.csv", Encoding.UTF8.GetBytes(csv)));

        Assert.Equal(2, result.Rows);
        Assert.Contains(result.Daily, d => d.Package == "pkg, with \"comma\"" && d.Cost.Unblended == 1.5m);
        Assert.Equal(2.5m, result.Untagged.Unblended);
    }
}
