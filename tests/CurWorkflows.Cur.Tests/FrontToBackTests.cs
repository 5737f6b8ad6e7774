using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using CurWorkflows.Cur.Aggregation;
using CurWorkflows.Cur.Reading;
using CurWorkflows.ReportGenerator;

namespace CurWorkflows.Cur.Tests;

/// <summary>
/// A source read front to back (a file still arriving) gives the same result and the same errors as one read with its
/// end first, without looking beyond its compressed data before it has read that data.
/// </summary>
public class FrontToBackTests
{
    private const string Header = "identity/LineItemId,lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UnblendedCost,resourceTags/user:md-package";

    /// <summary>
    /// Holds a file whose bytes after <paramref name="dataEnd"/> (a zip's data descriptor and directory, a gzip's trailer)
    /// count as not there yet until every byte before it was read: a read or seek beyond what was read so far fails
    /// until then, as it would wait for a download that is still at that point.
    /// </summary>
    private sealed class ArrivingStream(byte[] content, long dataEnd) : Stream
    {
        private long _position;
        private long _read;

        public int LookAheads { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => true;

        public override bool CanWrite => false;

        public override long Length => content.Length;

        public override long Position { get => _position; set => Seek(value, SeekOrigin.Begin); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_position > _read)
            {
                Ahead();
            }

            var read = (int)Math.Min(count, content.Length - _position);
            Array.Copy(content, _position, buffer, offset, read);
            _position += read;
            _read = Math.Max(_read, _position);
            return read;
        }

        public override long Seek(long offset, SeekOrigin origin)
        {
            var target = origin switch
            {
                SeekOrigin.Begin => offset,
                SeekOrigin.Current => _position + offset,
                _ => content.Length + offset,
            };
            if (target > _read)
            {
                Ahead();
            }

            return _position = target;
        }

        private void Ahead()
        {
            if (_read < dataEnd)
            {
                LookAheads++;
                throw new InvalidOperationException($"looked beyond byte {_read} before the data, which ends at {dataEnd}, was read");
            }
        }

        public override void Flush()
        {
        }

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private static CurSource Arriving(string name, byte[] content, long dataEnd, List<ArrivingStream>? opened = null) =>
        new(name, CurSource.CompressionOf(name), () =>
        {
            var stream = new ArrivingStream(content, dataEnd);
            opened?.Add(stream);
            return stream;
        })
        { FrontToBack = true };

    /// <summary>Where a one-entry zip's deflate data ends: its local header, name and extra field, then the data.</summary>
    private static long ZipDataEnd(byte[] zip)
    {
        using var archive = new ZipArchive(new MemoryStream(zip));
        var header = zip.AsSpan();
        return 30 + BinaryPrimitives.ReadUInt16LittleEndian(header[26..]) + BinaryPrimitives.ReadUInt16LittleEndian(header[28..]) + archive.Entries[0].CompressedLength;
    }

    private static (byte[] Content, GeneratedReportTruth Truth) Generate(ReportFileFormat format, int rows)
    {
        using var buffer = new MemoryStream();
        var truth = ReportFiles.Write(buffer, format, "r.csv", new ReportGeneratorOptions { Rows = rows, Seed = 11 });
        return (buffer.ToArray(), truth);
    }

    [Theory]
    [InlineData(ReportFileFormat.Zip, 400)]
    [InlineData(ReportFileFormat.Zip, 30_000)]
    [InlineData(ReportFileFormat.Gzip, 400)]
    [InlineData(ReportFileFormat.Gzip, 30_000)]
    public void AReportReadFrontToBack_GivesTheSameResult_WithoutLookingAhead(ReportFileFormat format, int rows)
    {
        var (content, truth) = Generate(format, rows);
        var name = format == ReportFileFormat.Zip ? "r.csv.zip" : "r.csv.gz";
        var dataEnd = format == ReportFileFormat.Zip ? ZipDataEnd(content) : content.Length - 8;
        var opened = new List<ArrivingStream>();

        var frontToBack = CostAggregator.AggregateFile(Arriving(name, content, dataEnd, opened));

        GeneratedReportTests.AssertMatches(truth, frontToBack);
        var endFirst = CostAggregator.AggregateFile(CurSource.FromBytes(name, content));
        Assert.Equal(endFirst.Totals, frontToBack.Totals);
        Assert.Equal(endFirst.Daily, frontToBack.Daily);
        Assert.Equal(endFirst.DailyResources, frontToBack.DailyResources);
        Assert.NotEmpty(opened);
        Assert.All(opened, stream => Assert.Equal(0, stream.LookAheads));
    }

    [Fact]
    public void AZipReadEndFirst_LooksAhead_WhichIsWhatFrontToBackAvoids()
    {
        var (content, _) = Generate(ReportFileFormat.Zip, 400);
        var source = new CurSource("r.csv.zip", CurCompression.Zip, () => new ArrivingStream(content, ZipDataEnd(content)));

        var error = Assert.ThrowsAny<Exception>(() => CostAggregator.AggregateFile(source));

        Assert.Contains("looked beyond byte 0", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void ResumingFromACheckpoint_FrontToBack_GivesTheUninterruptedResult()
    {
        var (content, truth) = Generate(ReportFileFormat.Zip, 6_000);
        var source = Arriving("r.csv.zip", content, ZipDataEnd(content));
        var states = new List<byte[]>();
        new CostAggregator().AddFile(source, new CheckpointOptions
        {
            EveryRows = 2_000,
            OnCheckpoint = (aggregator, _) =>
            {
                using var state = new MemoryStream();
                aggregator.Save(state);
                states.Add(state.ToArray());
            },
        });

        Assert.Equal(2, states.Count);
        foreach (var state in states)
        {
            var resumed = CostAggregator.Load(new MemoryStream(state));
            resumed.AddFile(source);
            GeneratedReportTests.AssertMatches(truth, resumed.GetResult());
        }
    }

    private static ReportMalformedException FailsFrontToBack(string name, byte[] content)
    {
        var source = new CurSource(name, CurSource.CompressionOf(name), () => new MemoryStream(content, writable: false)) { FrontToBack = true };
        var error = Assert.Throws<ReportMalformedException>(() => CostAggregator.AggregateFile(source));
        Assert.Equal(CurErrorCodes.ReportMalformed, error.Code);
        Assert.Contains(name, error.Message, StringComparison.Ordinal);
        return error;
    }

    [Fact]
    public void AZipWithASecondEntry_IsMalformed_OnceItsDirectoryIsRead()
    {
        var error = FailsFrontToBack("two.csv.zip", MalformedInputTests.Zip(CompressionLevel.Optimal, ("a.csv", $"{Header}\na,Usage,2024-11-01T00:00:00Z,1,x\n"), ("b.csv", $"{Header}\n")));

        Assert.Contains("holds 2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AZipWhoseDirectoryDisagreesWithItsData_IsMalformed()
    {
        var (content, _) = Generate(ReportFileFormat.Zip, 400);
        // The CRC-32 in the central directory record (16 bytes after its signature), not the local header's.
        var directory = content.AsSpan().LastIndexOf("PK\u0001\u0002"u8);
        content[directory + 16] ^= 0xFF;

        var error = FailsFrontToBack("crc.csv.zip", content);

        Assert.Contains("CRC-32", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AZipWithAnEntryThatIsNotDeflated_IsMalformed()
    {
        var error = FailsFrontToBack("stored.csv.zip", MalformedInputTests.Zip(CompressionLevel.NoCompression, ("a.csv", $"{Header}\na,Usage,2024-11-01T00:00:00Z,1,x\n")));

        Assert.Contains("method 0", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TruncatedOrCorruptArchives_AreMalformed()
    {
        var (zip, _) = Generate(ReportFileFormat.Zip, 400);
        var (gzip, _) = Generate(ReportFileFormat.Gzip, 400);
        foreach (var length in new[] { 10, 40, zip.Length / 2, zip.Length - 30 })
        {
            FailsFrontToBack("cut.csv.zip", zip[..length]);
        }

        foreach (var length in new[] { gzip.Length / 2, gzip.Length - 4 })
        {
            FailsFrontToBack("cut.csv.gz", gzip[..length]);
        }

        for (var offset = 200; offset < zip.Length - 300; offset += zip.Length / 5)
        {
            var corrupt = (byte[])zip.Clone();
            corrupt[offset] ^= 0x55;
            FailsFrontToBack("corrupt.csv.zip", corrupt);
        }

        FailsFrontToBack("plain.csv.zip", Encoding.UTF8.GetBytes($"{Header}\na,Usage,2024-11-01T00:00:00Z,1,x\n"));
    }
}
