using System.IO.Compression;
using System.Text;
using CurWorkflows.Cur.Aggregation;
using CurWorkflows.Cur.Reading;

namespace CurWorkflows.Cur.Tests;

/// <summary>
/// Reports past 4 GiB uncompressed: ZIP64 entries, gzip's length modulo 2^32, and offsets, CRC-32 combination and
/// checkpoints beyond 32 bits. The content repeats ten rows, so the archive stays small (about 75 MB in memory).
/// </summary>
public class LargeArchiveTests
{
    private const long FourGiB = 4L << 30;
    private const string Header =
        "identity/LineItemId,lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UnblendedCost,lineItem/ProductCode,lineItem/ResourceId,lineItem/CurrencyCode,product/description,resourceTags/user:md-package\n";

    [Theory]
    [InlineData(".csv.zip")]
    [InlineData(".csv.gz")]
    public void A_report_over_4_GiB_is_read_to_its_end_and_resumes_from_a_checkpoint_past_4_GiB(string extension)
    {
        var (content, rows, unblended) = Archive(extension, FourGiB + (100L << 20));
        var source = CurSource.FromBytes("large" + extension, content);

        (CurCheckpoint Checkpoint, byte[] State)? saved = null;
        var uninterrupted = new CostAggregator();
        uninterrupted.AddFile(source, new CheckpointOptions
        {
            EveryRows = rows - 50_000,
            OnCheckpoint = (aggregator, checkpoint) =>
            {
                using var state = new MemoryStream();
                aggregator.Save(state);
                saved = (checkpoint, state.ToArray());
            },
        });
        var result = uninterrupted.GetResult();

        Assert.Equal(rows, result.Rows);
        Assert.Equal(unblended, result.Totals.Unblended);
        Assert.Equal(result.Totals.Unblended, result.UnblendedRowSum);
        Assert.True(result.DecompressedBytes > FourGiB, $"{result.DecompressedBytes} bytes inflated");
        Assert.Equal(["pkg-0", "pkg-1", "pkg-2"], result.Monthly.Select(m => m.Package).Order());

        var (checkpoint, stateBytes) = Assert.NotNull(saved);
        Assert.Equal(rows - 50_000, checkpoint.Position.Rows);
        Assert.True(checkpoint.Position.DecompressedBytes > FourGiB, $"checkpoint at {checkpoint.Position.DecompressedBytes}");
        Assert.Equal(rows - 50_000 + 2, checkpoint.Position.Line); // the header is line 1; the next row starts here
        var resumed = CostAggregator.Load(new MemoryStream(stateBytes));
        resumed.AddFile(source);
        CheckpointResumeTests.AssertSameResult(result, resumed.GetResult());
    }

    private static (byte[] Content, long Rows, decimal Unblended) Archive(string extension, long minimumBytes)
    {
        var lines = new byte[10][];
        var costs = new decimal[10];
        var description = new string('x', 1000);
        for (var i = 0; i < lines.Length; i++)
        {
            costs[i] = (i + 1) * 0.0000000123m;
            lines[i] = Encoding.UTF8.GetBytes(
                $"id{i},Usage,2024-11-{i + 1:D2}T00:00:00Z,{costs[i]},AmazonEC2,i-{i:D4},USD,\"{description}, \"\"quoted\"\"\",pkg-{i % 3}\n");
        }

        long rows = 0, bytes = Header.Length;
        var unblended = 0m;
        var content = Compressed(extension, data =>
        {
            data.Write(Encoding.UTF8.GetBytes(Header));
            while (bytes < minimumBytes)
            {
                var line = (int)(rows % lines.Length);
                data.Write(lines[line]);
                bytes += lines[line].Length;
                unblended += costs[line];
                rows++;
            }
        });

        return (content, rows, unblended);
    }

    private static byte[] Compressed(string extension, Action<Stream> write)
    {
        using var buffer = new MemoryStream();
        if (extension == ".csv.gz")
        {
            using var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true);
            write(gzip);
        }
        else
        {
            using var archive = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true);
            using var entry = archive.CreateEntry("large.csv", CompressionLevel.Fastest).Open();
            write(entry);
        }

        return buffer.ToArray();
    }
}
