using System.IO.Compression;
using System.Text;
using CurWorkflows.Cur.Aggregation;
using CurWorkflows.Cur.Reading;
using CurWorkflows.ReportGenerator;

namespace CurWorkflows.Cur.Tests;

/// <summary>
/// Zip entries are inflated by calling the runtime's zlib-ng directly with large input chunks
/// (<see cref="RawInflateStream"/>): the same bytes as <see cref="DeflateStream"/>, the same errors, and a fallback to
/// <see cref="ZipArchive"/> for a zip whose first local header is not its entry's.
/// </summary>
public class RawInflateTests
{
    /// <summary>CSV text and incompressible bytes, deflated at the given level: dynamic, fixed and stored blocks.</summary>
    private static (byte[] Plain, byte[] Deflated) Sample(CompressionLevel level)
    {
        using var csv = new MemoryStream();
        ReportFiles.Write(csv, ReportFileFormat.Csv, "r.csv", new ReportGeneratorOptions { Rows = 3000, Seed = 7 });
        var noise = new byte[300_000];
        new Random(11).NextBytes(noise);
        var plain = csv.ToArray().Concat(noise).Concat(csv.ToArray()).ToArray();
        using var deflated = new MemoryStream();
        using (var deflate = new DeflateStream(deflated, level, leaveOpen: true))
        {
            deflate.Write(plain);
        }

        return (plain, deflated.ToArray());
    }

    private static byte[] ReadAll(Stream stream, int readSize)
    {
        using var output = new MemoryStream();
        var buffer = new byte[readSize];
        int read;
        while ((read = stream.Read(buffer)) > 0)
        {
            output.Write(buffer, 0, read);
        }

        return output.ToArray();
    }

    [Theory]
    [InlineData(CompressionLevel.Optimal)]
    [InlineData(CompressionLevel.Fastest)]
    [InlineData(CompressionLevel.SmallestSize)]
    public void Inflates_the_same_bytes_as_DeflateStream_whatever_the_read_and_input_sizes(CompressionLevel level)
    {
        var (plain, deflated) = Sample(level);
        foreach (var (readSize, inputChunk) in new[] { (1 << 20, int.MaxValue), (4093, int.MaxValue), (1, 100_000), (65536, 1), (300, 17) })
        {
            using var inflating = RawInflateStream.Open(new ForwardOnlyStream(deflated, inputChunk), leaveOpen: false);

            Assert.IsType<RawInflateStream>(inflating);
            Assert.Equal(plain, ReadAll(inflating, readSize));
            Assert.Equal(0, inflating.Read(new byte[10]));
            Assert.Equal(plain.Length, inflating.Position);
        }
    }

    [Fact]
    public void Stops_at_the_end_of_the_deflate_data_and_leaves_what_follows_unread()
    {
        var (plain, deflated) = Sample(CompressionLevel.Optimal);
        var followed = deflated.Concat("PK\u0001\u0002 the rest of the zip"u8.ToArray()).ToArray();

        using var inflating = RawInflateStream.Open(new MemoryStream(followed), leaveOpen: false);

        Assert.Equal(plain, ReadAll(inflating, 1 << 16));
    }

    [Fact]
    public void A_cut_deflate_stream_fails_saying_it_is_truncated()
    {
        var (_, deflated) = Sample(CompressionLevel.Optimal);
        foreach (var length in new[] { 0, 1, 2, deflated.Length / 3, deflated.Length - 1 })
        {
            using var inflating = RawInflateStream.Open(new MemoryStream(deflated[..length]), leaveOpen: false);

            var error = Assert.Throws<InvalidDataException>(() => ReadAll(inflating, 1 << 16));

            Assert.Contains("truncated", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Corrupt_deflate_data_fails_with_zlibs_reason()
    {
        // The first block's type bits say 3, which deflate reserves.
        using var inflating = RawInflateStream.Open(new MemoryStream([0x07, 0x00, 0x00, 0x00]), leaveOpen: false);

        var error = Assert.Throws<InvalidDataException>(() => ReadAll(inflating, 4096));

        Assert.Contains("corrupt", error.Message, StringComparison.Ordinal);
        Assert.Contains("invalid block type", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Disposing_closes_the_compressed_stream_unless_asked_to_leave_it_open()
    {
        var (_, deflated) = Sample(CompressionLevel.Fastest);
        var kept = new MemoryStream(deflated);
        var closed = new MemoryStream(deflated);

        RawInflateStream.Open(kept, leaveOpen: true).Dispose();
        RawInflateStream.Open(closed, leaveOpen: false).Dispose();

        Assert.True(kept.CanRead);
        Assert.False(closed.CanRead);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_zip_report_is_inflated_by_zlib_ng_directly_whether_read_end_first_or_front_to_back(bool frontToBack)
    {
        using var zip = new MemoryStream();
        var truth = ReportFiles.Write(zip, ReportFileFormat.Zip, "r.csv", new ReportGeneratorOptions { Rows = 2000 });
        var content = zip.ToArray();
        var source = frontToBack
            ? new CurSource("r.csv.zip", CurCompression.Zip, () => new MemoryStream(content, writable: false)) { FrontToBack = true }
            : CurSource.FromBytes("r.csv.zip", content);

        using (var data = CurDataStream.Open(source, readAhead: false))
        {
            Assert.IsType<RawInflateStream>(data.Inflater);
        }

        var result = CostAggregator.AggregateFile(source);

        Assert.Equal(truth.Rows, result.Rows);
        Assert.Equal(truth.Unblended, result.Totals.Unblended);
        Assert.Equal(truth.Amortized, result.Totals.Amortized);
    }

    [Fact]
    public void A_zip_whose_first_local_header_is_not_its_entrys_is_read_through_ZipArchive()
    {
        using var zip = new MemoryStream();
        var truth = ReportFiles.Write(zip, ReportFileFormat.Zip, "r.csv", new ReportGeneratorOptions { Rows = 2000 });
        var content = zip.ToArray();
        // ZipArchive goes by the central directory's name; the local header's (30 bytes in) now names another file.
        Assert.Equal((byte)'r', content[30]);
        content[30] = (byte)'q';
        var source = CurSource.FromBytes("r.csv.zip", content);

        using (var data = CurDataStream.Open(source, readAhead: false))
        {
            Assert.IsType<DeflateStream>(data.Inflater);
        }

        var result = CostAggregator.AggregateFile(source);

        Assert.Equal(truth.Rows, result.Rows);
        Assert.Equal(truth.Unblended, result.Totals.Unblended);
    }

    [Fact]
    public void A_zip_with_a_stored_entry_is_read_through_ZipArchive()
    {
        const string Header = "identity/LineItemId,lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UnblendedCost";
        var content = MalformedInputTests.Zip(CompressionLevel.NoCompression, ("a.csv", $"{Header}\na,Usage,2024-11-01T00:00:00Z,1.25\n"));
        var source = CurSource.FromBytes("a.csv.zip", content);

        var result = CostAggregator.AggregateFile(source);

        Assert.Equal(1, result.Rows);
        Assert.Equal(1.25m, result.Totals.Unblended);
        Assert.Equal("a.csv", Encoding.UTF8.GetString(content, 30, 5));
    }
}
