using System.IO.Compression;
using System.Text;
using CurWorkflows.Cur.Aggregation;
using CurWorkflows.Cur.Reading;
using CurWorkflows.ReportGenerator;

namespace CurWorkflows.Cur.Tests;

public class MalformedInputTests
{
    private const string Header = "identity/LineItemId,lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UnblendedCost,resourceTags/user:md-package";

    private static ReportMalformedException Fails(string name, byte[] content)
    {
        var error = Assert.Throws<ReportMalformedException>(() => CostAggregator.AggregateFile(CurSource.FromBytes(name, content)));
        Assert.Equal(CurErrorCodes.ReportMalformed, error.Code);
        Assert.Equal(name, error.File);
        Assert.Contains(name, error.Message, StringComparison.Ordinal);
        return error;
    }

    private static ReportMalformedException FailsCsv(string csv) => Fails("bad.csv", Encoding.UTF8.GetBytes(csv));

    [Fact]
    public void BadNumber_NamesLineAndColumn()
    {
        var error = FailsCsv($"{Header}\r\na,Usage,2024-11-01T00:00:00Z,1.5,x\r\n\"b\r\nstill b\",Usage,2024-11-01T00:00:00Z,1.5,x\r\nc,Usage,2024-11-01T00:00:00Z,\"12,3\",x\r\n");

        Assert.Equal(5, error.Line);
        Assert.Equal(4, error.Column);
        Assert.Equal("lineItem/UnblendedCost", error.ColumnName);
        Assert.Contains("line 5, column 4 (lineItem/UnblendedCost)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AColumnTheAggregationReadsTwice_IsMalformed_AtItsSecondPlace()
    {
        var error = FailsCsv($"{Header},lineItem/UnblendedCost\na,Usage,2024-11-01T00:00:00Z,1,x,2\n");

        Assert.Equal(1, error.Line);
        Assert.Equal(6, error.Column);
        Assert.Equal("lineItem/UnblendedCost", error.ColumnName);
    }

    [Fact]
    public void AColumnTheAggregationDoesNotReadMayRepeat()
    {
        var csv = $"{Header},product/sku,product/sku\na,Usage,2024-11-01T00:00:00Z,1,x,s1,s2\n";

        Assert.Equal(1m, CostAggregator.AggregateFile(CurSource.FromBytes("ok.csv", Encoding.UTF8.GetBytes(csv))).Totals.Unblended);
    }

    [Theory]
    [InlineData("resourceTags/user:md-package", 256)]
    [InlineData("lineItem/ResourceId", 2048)]
    [InlineData("lineItem/ProductCode", 128)]
    [InlineData("lineItem/CurrencyCode", 8)]
    public void AValueLongerThanItsColumn_IsMalformed_AtItsCell(string column, int limit)
    {
        // The stores' columns hold this much; a longer value used to fail every retry of the write on PostgreSQL.
        const string header = "identity/LineItemId,lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UnblendedCost";
        var fits = new string('é', limit);
        Assert.Equal(1m, CostAggregator.AggregateFile(CurSource.FromBytes("ok.csv", Encoding.UTF8.GetBytes($"{header},{column}\na,Usage,2024-11-01T00:00:00Z,1,{fits}\n"))).Totals.Unblended);

        var error = FailsCsv($"{header},{column}\na,Usage,2024-11-01T00:00:00Z,1,ok\nb,Usage,2024-11-01T00:00:00Z,1,{fits}x\n");

        Assert.Equal(3, error.Line);
        Assert.Equal(5, error.Column);
        Assert.Equal(column, error.ColumnName);
        Assert.Contains($"{limit + 1} characters long; at most {limit}", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(2, 5)]
    [InlineData(3, 2)]
    public void AValueThatIsNotUtf8_IsMalformed_AtItsCell(int line, int column)
    {
        // Two different invalid sequences would read as the same text: two results named alike.
        var csv = new List<byte>(Encoding.UTF8.GetBytes($"{Header}\na,Usage,2024-11-01T00:00:00Z,1,app"));
        csv.AddRange(line == 2 ? [0xFF] : Encoding.UTF8.GetBytes("ok"));
        csv.AddRange(Encoding.UTF8.GetBytes("\nb,Usa"));
        csv.AddRange(line == 3 ? [0xFE] : Encoding.UTF8.GetBytes("ge"));
        csv.AddRange(Encoding.UTF8.GetBytes(",2024-11-01T00:00:00Z,2,app\n"));

        var error = Fails("bad.csv", [.. csv]);

        Assert.Equal(line, error.Line);
        Assert.Equal(column, error.Column);
        Assert.Contains("UTF-8", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("SavingsPlanCoveredUsage", "savingsPlan/SavingsPlanEffectiveCost")]
    [InlineData("SavingsPlanRecurringFee", "savingsPlan/TotalCommitmentToDate")]
    [InlineData("DiscountedUsage", "reservation/EffectiveCost")]
    [InlineData("RIFee", "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod")]
    public void ARowWhoseAmortizedCostNeedsAColumnTheHeaderLacks_IsMalformed_AtItsLine(string type, string column)
    {
        var error = FailsCsv($"{Header}\na,Usage,2024-11-01T00:00:00Z,1.5,x\nb,{type},2024-11-01T00:00:00Z,1.5,x\n");

        Assert.Equal(3, error.Line);
        Assert.Equal(column, error.ColumnName);
        Assert.Contains(type, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("1.2.3")]
    [InlineData("-")]
    [InlineData("NaN")]
    [InlineData("1e400")]
    [InlineData("1000000000000")]
    [InlineData("0.0000000000001")]
    // decimal.TryParse would round these to 0 and 0.1: the places are counted on the text.
    [InlineData("1e-50")]
    [InlineData("0.1000000000000000000000000000001")]
    [InlineData("1.5 ")]
    [InlineData(" 1.5")]
    public void NotANumber_IsMalformed(string value)
    {
        var error = FailsCsv($"{Header}\na,Usage,2024-11-01T00:00:00Z,{value},x\n");

        Assert.Equal(2, error.Line);
        Assert.Equal(4, error.Column);
    }

    [Theory]
    [InlineData("2024-13-01T00:00:00Z")]
    [InlineData("2024-02-30T00:00:00Z")]
    [InlineData("yesterday")]
    [InlineData("")]
    [InlineData("Nov 2024")]
    [InlineData("11/01/2024")]
    public void BadDate_IsMalformed(string value)
    {
        var error = FailsCsv($"{Header}\na,Usage,2024-11-01T00:00:00Z,1,x\nb,Usage,{value},1,x\n");

        Assert.Equal(3, error.Line);
        Assert.Equal(3, error.Column);
        Assert.Equal("lineItem/UsageStartDate", error.ColumnName);
    }

    [Fact]
    public void TooManyFields_IsMalformed_AtTheFirstExtraField()
    {
        var error = FailsCsv($"{Header}\na,Usage,2024-11-01T00:00:00Z,1,x,extra\n");

        Assert.Equal(2, error.Line);
        Assert.Equal(6, error.Column);
        Assert.Contains("6 fields, the header has 5", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TooFewFields_IsMalformed_AtTheFirstMissingField()
    {
        var error = FailsCsv($"{Header}\na,Usage,2024-11-01T00:00:00Z,1,x\nb,Usage,2024-11-01T00:00:00Z\n");

        Assert.Equal(3, error.Line);
        Assert.Equal(4, error.Column);
        Assert.Equal("lineItem/UnblendedCost", error.ColumnName);
    }

    [Fact]
    public void TruncatedPlainCsv_EndsWithAShortRow_AndIsMalformed()
    {
        var error = FailsCsv($"{Header}\na,Usage,2024-11-01T00:00:00Z,1,x\nb,Usage,2024-11-0");

        Assert.Equal(3, error.Line);
    }

    [Fact]
    public void UnterminatedQuote_IsMalformed()
    {
        var error = FailsCsv($"{Header}\na,Usage,2024-11-01T00:00:00Z,1,x\n\"b,Usage,2024-11-01T00:00:00Z,1,x\n");

        Assert.Equal(3, error.Line);
    }

    [Theory]
    [InlineData("lineItem/UsageStartDate")]
    [InlineData("lineItem/UnblendedCost")]
    [InlineData("lineItem/LineItemType")]
    public void MissingRequiredColumn_IsMalformed_OnLine1(string column)
    {
        var header = Header.Replace(column, "lineItem/Other", StringComparison.Ordinal);

        var error = FailsCsv($"{header}\na,Usage,2024-11-01T00:00:00Z,1,x\n");

        Assert.Equal(1, error.Line);
        Assert.Contains(column, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EmptyFile_IsMalformed() => Assert.Equal(1, Fails("empty.csv", []).Line);

    [Fact]
    public void EmptyLineItemType_IsMalformed()
    {
        var error = FailsCsv($"{Header}\na,,2024-11-01T00:00:00Z,1,x\n");

        Assert.Equal(2, error.Column);
    }

    [Fact]
    public void RowsOfTwoBillingPeriods_AreMalformed()
    {
        var error = FailsCsv("bill/BillingPeriodStartDate,lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UnblendedCost\n" +
            "2024-10-01T00:00:00Z,Usage,2024-10-02T00:00:00Z,1\n2024-11-01T00:00:00Z,Usage,2024-11-02T00:00:00Z,1\n");

        Assert.Equal(3, error.Line);
        Assert.Equal(1, error.Column);
    }

    [Fact]
    public void RowsOfAnotherBillingPeriodThanTheFilesFolder_AreMalformed_AtTheirCell()
    {
        const string csv = "bill/BillingPeriodStartDate,lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UnblendedCost\n" +
            "2024-10-01T00:00:00Z,Usage,2024-10-02T00:00:00Z,1\n";
        var october = new CostAggregationOptions { ExpectedBillingPeriod = new DateOnly(2024, 10, 1) };
        Assert.Equal(1m, CostAggregator.AggregateFile(CurSource.FromBytes("october.csv", Encoding.UTF8.GetBytes(csv)), october).Totals.Unblended);

        var error = Assert.Throws<ReportMalformedException>(() => CostAggregator.AggregateFile(
            CurSource.FromBytes("september.csv", Encoding.UTF8.GetBytes(csv)), new CostAggregationOptions { ExpectedBillingPeriod = new DateOnly(2024, 9, 1) }));

        Assert.Equal(2, error.Line);
        Assert.Equal(1, error.Column);
        Assert.Contains("the file was delivered for the one starting 2024-09-01", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AFileReadForAKnownBillingPeriod_WithoutItsBillingPeriodColumn_IsMalformed_AtTheHeader()
    {
        const string csv = "lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UnblendedCost\n" +
            "Usage,2024-09-02T00:00:00Z,1\n";
        Assert.Equal(1m, CostAggregator.AggregateFile(CurSource.FromBytes("no-period.csv", Encoding.UTF8.GetBytes(csv))).Totals.Unblended);

        var error = Assert.Throws<ReportMalformedException>(() => CostAggregator.AggregateFile(
            CurSource.FromBytes("no-period.csv", Encoding.UTF8.GetBytes(csv)), new CostAggregationOptions { ExpectedBillingPeriod = new DateOnly(2024, 10, 1) }));

        Assert.Equal(1, error.Line);
        Assert.Contains("bill/BillingPeriodStartDate", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CostsThatAddUpBeyondExactSums_AreMalformed_NotRounded()
    {
        // 80,000 rows just below the per-row bound: the total needs 17 digits before the point and 12 after, one more
        // than a decimal holds, and the views and the row sums would round alike.
        var csv = new StringBuilder("identity/LineItemId,lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UnblendedCost\n");
        for (var i = 0; i < 80_000; i++)
        {
            csv.Append("r,Usage,2024-11-01T00:00:00Z,999999999999.999999999999\n");
        }

        csv.Append("r,Usage,2024-11-01T00:00:00Z,0.000000000001\n");

        var error = FailsCsv(csv.ToString());

        Assert.Contains("beyond what decimal sums keep exact", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ZipWithoutEntries_IsMalformed()
    {
        var error = Fails("none.csv.zip", Zip());

        Assert.Contains("holds 0", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ZipWithTwoEntries_IsMalformed()
    {
        var error = Fails("two.csv.zip", Zip(("a.csv", $"{Header}\n"), ("b.csv", $"{Header}\n")));

        Assert.Contains("holds 2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TruncatedZip_IsMalformed()
    {
        var zip = GeneratedZip();

        Fails("cut.csv.zip", zip[..(zip.Length / 2)]);
    }

    [Fact]
    public void ZipWithCorruptData_IsMalformed_EvenWhenInflateDoesNotNotice()
    {
        var zip = GeneratedZip();
        // Flip bits at many places of the deflate data in turn: each must be caught by inflate or by the CRC/length check.
        for (var offset = 200; offset < zip.Length - 300; offset += zip.Length / 7)
        {
            var corrupt = (byte[])zip.Clone();
            corrupt[offset] ^= 0x55;
            Fails("corrupt.csv.zip", corrupt);
        }
    }

    [Fact]
    public void NotAZipAtAll_IsMalformed() => Fails("plain.csv.zip", Encoding.UTF8.GetBytes($"{Header}\n"));

    [Fact]
    public void TruncatedGzip_IsMalformed()
    {
        var gzip = GeneratedGzip();
        foreach (var length in new[] { gzip.Length - 1, gzip.Length - 8, gzip.Length / 2, 30, 5 })
        {
            Fails("cut.csv.gz", gzip[..length]);
        }
    }

    [Fact]
    public void TruncatedGzip_FromASourceThatCannotSeek_IsMalformed()
    {
        var gzip = GeneratedGzip();
        var whole = CostAggregator.AggregateFile(Unseekable("whole.csv.gz", gzip));
        Assert.Equal(CostAggregator.AggregateFile(CurSource.FromBytes("whole.csv.gz", gzip)).Totals, whole.Totals);

        foreach (var length in new[] { gzip.Length - 1, gzip.Length - 8, gzip.Length / 2, 30, 5 })
        {
            var error = Assert.Throws<ReportMalformedException>(() => CostAggregator.AggregateFile(Unseekable("cut.csv.gz", gzip[..length])));
            Assert.Equal("cut.csv.gz", error.File);
        }
    }

    private static CurSource Unseekable(string name, byte[] content) =>
        new(name, CurCompression.Gzip, () => new ForwardOnlyStream(content));

    [Fact]
    public void GzipWithCorruptData_IsMalformed()
    {
        var gzip = GeneratedGzip();
        for (var offset = 20; offset < gzip.Length - 8; offset += gzip.Length / 9)
        {
            var corrupt = (byte[])gzip.Clone();
            corrupt[offset] ^= 0x10;
            Fails("corrupt.csv.gz", corrupt);
        }
    }

    [Fact]
    public void GzipOfSeveralMembers_IsMalformedAndTheErrorSaysWhy()
    {
        // Two gzip files joined with cat: a valid gzip stream, but its last trailer only covers the second member.
        var csv = $"{Header}\na,Usage,2024-11-01T00:00:00Z,1.5,x\nb,Usage,2024-11-01T00:00:00Z,2.5,y\n";
        var split = csv.IndexOf("b,Usage", StringComparison.Ordinal);
        byte[] Member(string text)
        {
            using var buffer = new MemoryStream();
            using (var gzip = new GZipStream(buffer, CompressionLevel.Optimal, leaveOpen: true))
            {
                gzip.Write(Encoding.UTF8.GetBytes(text));
            }

            return buffer.ToArray();
        }

        var joined = Member(csv[..split]).Concat(Member(csv[split..])).ToArray();

        var error = Fails("joined.csv.gz", joined);
        Assert.Contains("several gzip members", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NotAGzipAtAll_IsMalformed() => Fails("plain.csv.gz", Encoding.UTF8.GetBytes($"{Header}\na,Usage,2024-11-01T00:00:00Z,1,x\n"));

    [Fact]
    public void ErrorsInsideAZip_NameTheLine()
    {
        var error = Fails("bad-row.csv.zip", Zip(("bad-row.csv", $"{Header}\na,Usage,2024-11-01T00:00:00Z,1,x\nb,Usage,2024-11-01T00:00:00Z,one,x\n")));

        Assert.Equal(3, error.Line);
        Assert.Equal(4, error.Column);
    }

    private static byte[] Zip(params (string Name, string Content)[] entries) => Zip(CompressionLevel.Optimal, entries);

    internal static byte[] Zip(CompressionLevel level, params (string Name, string Content)[] entries)
    {
        using var buffer = new MemoryStream();
        using (var archive = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, content) in entries)
            {
                using var stream = archive.CreateEntry(name, level).Open();
                stream.Write(Encoding.UTF8.GetBytes(content));
            }
        }

        return buffer.ToArray();
    }

    private static byte[] GeneratedZip()
    {
        using var buffer = new MemoryStream();
        ReportFiles.Write(buffer, ReportFileFormat.Zip, "r.csv", new ReportGeneratorOptions { Rows = 400 });
        return buffer.ToArray();
    }

    private static byte[] GeneratedGzip()
    {
        using var buffer = new MemoryStream();
        ReportFiles.Write(buffer, ReportFileFormat.Gzip, "r.csv", new ReportGeneratorOptions { Rows = 400 });
        return buffer.ToArray();
    }
}
