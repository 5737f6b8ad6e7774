using System.IO.Compression;
using System.Text;
using CurWorkflows.Cur.Aggregation;
using CurWorkflows.Cur.Reading;
using CurWorkflows.ReportGenerator;
using FsCheck;
using FsCheck.Xunit;

namespace CurWorkflows.Cur.Tests;

/// <summary>Any bytes end in a result or report_malformed: never another exception, never a hang.</summary>
public class ReaderPropertyTests
{
    private const string Header = "lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UnblendedCost,lineItem/NetUnblendedCost,lineItem/ResourceId,resourceTags/user:md-package\r\n";

    private static readonly byte[] ValidCsv = Generate(ReportFileFormat.Csv);
    private static readonly byte[] ValidZip = Generate(ReportFileFormat.Zip);
    private static readonly byte[] ValidGzip = Generate(ReportFileFormat.Gzip);

    private static byte[] Generate(ReportFileFormat format)
    {
        using var buffer = new MemoryStream();
        ReportFiles.Write(buffer, format, "p.csv", new ReportGeneratorOptions { Rows = 60, WideColumns = false }, CompressionLevel.Fastest);
        return buffer.ToArray();
    }

    /// <summary>Runs the reader on the bytes; true when it ends in a result or report_malformed within the time limit.</summary>
    private static bool EndsInResultOrMalformed(string name, byte[] content)
    {
        var run = Task.Run(() =>
        {
            try
            {
                var result = CostAggregator.AggregateFile(CurSource.FromBytes(name, content), new CostAggregationOptions
                {
                    ResourceIndex = new ResourcePackageIndex(new Dictionary<string, string> { ["arn:aws:ec2:us-east-1:1:instance/i-1"] = "p" }),
                });
                return result.Totals.Unblended == result.UnblendedRowSum;
            }
            catch (ReportMalformedException e)
            {
                return e.Code == CurErrorCodes.ReportMalformed && e.Message.Contains(name, StringComparison.Ordinal);
            }
        });
        if (!run.Wait(TimeSpan.FromSeconds(20)))
        {
            throw new TimeoutException($"reading {content.Length} bytes as '{name}' did not end");
        }

        return run.Result;
    }

    [Property(MaxTest = 300)]
    public bool AnyBytes_AsPlainCsv(byte[] content) => EndsInResultOrMalformed("any.csv", content);

    [Property(MaxTest = 150)]
    public bool AnyBytes_AsZip(byte[] content) => EndsInResultOrMalformed("any.csv.zip", content);

    [Property(MaxTest = 150)]
    public bool AnyBytes_AsGzip(byte[] content) => EndsInResultOrMalformed("any.csv.gz", content);

    [Property(MaxTest = 400)]
    public bool AnyText_AfterAValidHeader(string[] cells, bool crlf, byte separatorMix)
    {
        var text = new StringBuilder(Header);
        var newline = crlf ? "\r\n" : "\n";
        for (var i = 0; i < (cells?.Length ?? 0); i++)
        {
            text.Append(cells![i]);
            text.Append((i + separatorMix) % 6 == 5 ? newline : ",");
        }

        return EndsInResultOrMalformed("text.csv", Encoding.UTF8.GetBytes(text.ToString()));
    }

    [Property(MaxTest = 400)]
    public bool PlausibleRows_AfterAValidHeader(NonNegativeInt[] picks)
    {
        string[] types = ["Usage", "Tax", "SavingsPlanCoveredUsage", "RIFee", "Fee", "", "Credit"];
        string[] dates = ["2024-11-01T00:00:00Z", "2024-11-30T23:59:59.999Z", "2024-02-30T00:00:00Z", "2024-11-01", "x", ""];
        string[] costs = ["1", "-0.0000000001", "1.5E-7", "79228162514264337593543950335", "-79228162514264337593543950335", "", "\"1,5\"", "abc", "0.1234567890123456789012345678", "0.123456789012", "999999999999.999999999999", "-999999999999.999999999999"];
        string[] texts = ["", "i-1", "arn:aws:ec2:us-east-1:1:instance/i-1", "\"a\"\"b\"", "\"multi\r\nline\"", "pkg", "\"unterminated"];
        var text = new StringBuilder(Header);
        foreach (var (pick, i) in (picks ?? []).Select((p, i) => (p.Get, i)))
        {
            text.Append(types[pick % types.Length]).Append(',')
                .Append(dates[(pick / 7) % dates.Length]).Append(',')
                .Append(costs[(pick / 3) % costs.Length]).Append(',')
                .Append(costs[(pick / 11) % costs.Length]).Append(',')
                .Append(texts[(pick / 5) % texts.Length]).Append(',')
                .Append(texts[(pick + i) % texts.Length])
                .Append(pick % 13 == 0 ? ",extra" : "")
                .Append("\r\n");
        }

        return EndsInResultOrMalformed("rows.csv", Encoding.UTF8.GetBytes(text.ToString()));
    }

    [Property(MaxTest = 200)]
    public bool MutatedValidFiles(NonNegativeInt which, NonNegativeInt position, byte value, NonNegativeInt cut, bool truncate)
    {
        var (name, original) = (which.Get % 3) switch
        {
            0 => ("m.csv", ValidCsv),
            1 => ("m.csv.zip", ValidZip),
            _ => ("m.csv.gz", ValidGzip),
        };
        var content = (byte[])original.Clone();
        content[position.Get % content.Length] ^= (byte)(value | 1);
        if (truncate)
        {
            content = content[..(cut.Get % content.Length)];
        }

        return EndsInResultOrMalformed(name, content);
    }
}
