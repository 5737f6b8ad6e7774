using System.IO.Compression;
using System.Text;
using CurWorkflows.Cur.Aggregation;
using CurWorkflows.Cur.Reading;
using CurWorkflows.ReportGenerator;

namespace CurWorkflows.Cur.Tests;

[CollectionDefinition(nameof(RecordBlockTests), DisableParallelization = true)]
public class RecordBlockCollection;

/// <summary>
/// Compressed files parsed in record-aligned blocks on several threads give exactly what one sequential pass gives:
/// results, checkpoints (rows, lines, offsets), resumes and errors. Blocks are made small here so that small files
/// span hundreds of them.
/// </summary>
[Collection(nameof(RecordBlockTests))]
public sealed class RecordBlockTests : IDisposable
{
    private const string Header = "lineItem/LineItemDescription,lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UnblendedCost";

    private readonly int _blockBytes = CostAggregator.BlockBytes;

    public RecordBlockTests() => CostAggregator.BlockBytes = 16 << 10;

    public void Dispose()
    {
        CostAggregator.BlockBytes = _blockBytes;
        CostAggregator.CompressedInBlocks = true;
    }

    private static T Sequentially<T>(Func<T> action)
    {
        CostAggregator.CompressedInBlocks = false;
        try
        {
            return action();
        }
        finally
        {
            CostAggregator.CompressedInBlocks = true;
        }
    }

    private static byte[] Compress(string extension, byte[] csv)
    {
        using var output = new MemoryStream();
        if (extension == ".csv.gz")
        {
            using var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true);
            gzip.Write(csv);
        }
        else
        {
            using var archive = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true);
            using var entry = archive.CreateEntry("report.csv", CompressionLevel.Fastest).Open();
            entry.Write(csv);
        }

        return output.ToArray();
    }

    /// <summary>Rows with a quoted two-line description every 10th row, so that lines and rows differ.</summary>
    private static string Rows(int count, Func<int, string>? cost = null, Func<int, string>? description = null)
    {
        var csv = new StringBuilder(Header).Append('\n');
        for (var row = 1; row <= count; row++)
        {
            var text = description?.Invoke(row) ?? (row % 10 == 0 ? "\"two\nlines, \"\"quoted\"\"\"" : "one");
            csv.Append(text).Append(",Usage,2024-11-01T00:00:00Z,").Append(cost?.Invoke(row) ?? "1.5").Append('\n');
        }

        return csv.ToString();
    }

    [Theory]
    [InlineData(".csv.zip")]
    [InlineData(".csv.gz")]
    public void ManySmallBlocks_GiveTheSequentialResult(string extension)
    {
        using var directory = TestPaths.NewTempDirectory();
        var path = directory.File("blocks" + extension);
        var truth = ReportFiles.WriteFile(path, new ReportGeneratorOptions { Rows = 4_000, Seed = 21 }, CompressionLevel.Fastest);
        var source = CurSource.FromFile(path);

        var blocks = CostAggregator.AggregateFile(source);

        GeneratedReportTests.AssertMatches(truth, blocks);
        CheckpointResumeTests.AssertSameResult(Sequentially(() => CostAggregator.AggregateFile(source)), blocks);
        Assert.Equal(truth.Bytes, blocks.DecompressedBytes);
    }

    [Theory]
    [InlineData(".csv.zip", 700)]
    [InlineData(".csv.gz", 1_000)]
    public void Checkpoints_FallOnTheSequentialRowsLinesAndOffsets_AndResumeToTheSameResult(string extension, long everyRows)
    {
        using var directory = TestPaths.NewTempDirectory();
        var path = directory.File("checkpoints" + extension);
        ReportFiles.WriteFile(path, new ReportGeneratorOptions { Rows = 5_000, Seed = 8, LineEnding = "\n" }, CompressionLevel.Fastest);
        var source = CurSource.FromFile(path);

        List<(CurCheckpoint Checkpoint, byte[] State)> Collect()
        {
            var checkpoints = new List<(CurCheckpoint, byte[])>();
            new CostAggregator().AddFile(source, new CheckpointOptions
            {
                EveryRows = everyRows,
                OnCheckpoint = (aggregator, checkpoint) =>
                {
                    using var state = new MemoryStream();
                    aggregator.Save(state);
                    checkpoints.Add((checkpoint, state.ToArray()));
                },
            });
            return checkpoints;
        }

        var sequential = Sequentially(Collect);
        var blocks = Collect();
        var uninterrupted = Sequentially(() => CostAggregator.AggregateFile(source));

        Assert.Equal((int)(4_999 / everyRows), blocks.Count);
        static object Where(CurCheckpoint c) => (c.Position.Rows, c.Position.Line, c.Position.DecompressedBytes, c.TotalRows, c.Aggregates);
        Assert.Equal(sequential.Select(c => Where(c.Checkpoint)), blocks.Select(c => Where(c.Checkpoint)));
        foreach (var (checkpoint, state) in blocks)
        {
            var resumed = CostAggregator.Load(new MemoryStream(state));
            Assert.Equal((path, checkpoint.Position), resumed.InProgress);
            resumed.AddFile(source, new CheckpointOptions { EveryRows = everyRows, OnCheckpoint = (_, _) => { } });
            CheckpointResumeTests.AssertSameResult(uninterrupted, resumed.GetResult());
        }
    }

    [Fact]
    public void TimeBasedCheckpoints_FallOnTheSequentialRows()
    {
        var zip = Compress(".csv.zip", Encoding.UTF8.GetBytes(Rows(20_000)));
        var source = CurSource.FromBytes("t.csv.zip", zip);

        List<CurReadPosition> Collect()
        {
            var positions = new List<CurReadPosition>();
            new CostAggregator().AddFile(source, new CheckpointOptions { Interval = TimeSpan.FromTicks(1), OnCheckpoint = (_, c) => positions.Add(c.Position) });
            return positions;
        }

        var blocks = Collect();

        Assert.Equal([4_096L, 8_192, 12_288, 16_384], blocks.Select(p => p.Rows));
        Assert.Equal(Sequentially(Collect).Select(p => (p.Rows, p.Line, p.DecompressedBytes)), blocks.Select(p => (p.Rows, p.Line, p.DecompressedBytes)));
    }

    [Fact]
    public void TimeBasedCheckpoints_AfterRoundsOnSeveralThreads_CarryTheLineOfTheirOffset()
    {
        // Blocks parsed in parallel rounds count their lines on the parsing threads; whichever rows the time-based
        // checkpoints land on, each one's line must be the one at its offset in the file.
        var csv = Encoding.UTF8.GetBytes(Rows(300_000));
        var source = CurSource.FromBytes("lines.csv.zip", Compress(".csv.zip", csv));
        var positions = new List<CurReadPosition>();
        var aggregator = new CostAggregator();
        aggregator.AddFile(source, new CheckpointOptions { Interval = TimeSpan.FromMilliseconds(20), OnCheckpoint = (_, c) => positions.Add(c.Position) });

        Assert.NotEmpty(positions);
        foreach (var position in positions)
        {
            var linesBefore = csv.AsSpan(0, (int)position.DecompressedBytes).Count((byte)'\n');
            Assert.Equal(1 + linesBefore, position.Line);
        }

        CheckpointResumeTests.AssertSameResult(Sequentially(() => CostAggregator.AggregateFile(source)), aggregator.GetResult());
    }

    /// <summary>Whether an even number of quotes precedes <paramref name="end"/> and a line feed ends just before it.</summary>
    private static bool IsRecordBoundary(byte[] data, long end) =>
        end == 0 || (data[end - 1] == (byte)'\n' && data.AsSpan(0, (int)end).Count((byte)'"') % 2 == 0);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task Blocks_are_cut_in_file_order_at_record_boundaries_and_together_are_the_whole_stream(int takers)
    {
        // Chunks of 7 bytes to 40 KB, records from empty to longer than the room kept in front of a chunk for the carry
        // (so that both carry paths run), quoted line breaks, files that end with and without a line feed, and files
        // whose length is a whole number of chunks (the last chunk then holds nothing).
        var random = new Random(20261127 + takers);
        for (var sample = 0; sample < 120; sample++)
        {
            var text = new StringBuilder();
            for (var record = random.Next(0, 60); record > 0; record--)
            {
                text.Append(random.Next(8) switch
                {
                    0 => "",
                    1 => "\"quoted\nline feed, \"\"twice\"\"\"",
                    2 => new string('x', random.Next(RecordBlockReader.Headroom, 3 * RecordBlockReader.Headroom)),
                    3 => "\"" + new string('q', random.Next(1, 2 * RecordBlockReader.Headroom)) + "\n\"",
                    _ => "plain," + random.Next(),
                });
                text.Append(",1.5\n");
            }

            if (random.Next(3) == 0)
            {
                text.Append("no line feed at the end");
            }

            var data = Encoding.UTF8.GetBytes(text.ToString());
            var chunkBytes = random.Next(4) == 0 && data.Length > 0 ? Math.Max(1, data.Length / random.Next(1, 5)) : random.Next(7, 40_000);
            if (data.Length % chunkBytes != 0 && random.Next(2) == 0)
            {
                data = data[..(data.Length - (data.Length % chunkBytes))];
            }

            using var reader = new RecordBlockReader(new MemoryStream(data), 0, chunkBytes, 4, maxRecordBytes: 1 << 20, countLines: false);
            var taken = new System.Collections.Concurrent.ConcurrentBag<(long Index, long Offset, byte[] Bytes)>();
            var threads = Enumerable.Range(0, takers).Select(_ => Task.Run(() =>
            {
                while (reader.Take(CancellationToken.None) is { } block)
                {
                    taken.Add((block.Index, block.Offset, block.Memory.ToArray()));
                    reader.Return(block);
                }
            })).ToArray();
            // A taker left waiting after another took the end would hang: that fails here instead.
            await Task.WhenAll(threads).WaitAsync(TimeSpan.FromSeconds(60));

            var blocks = taken.OrderBy(b => b.Index).ToList();
            Assert.Equal(Enumerable.Range(0, blocks.Count).Select(i => (long)i), blocks.Select(b => b.Index));
            Assert.Equal(data, blocks.SelectMany(b => b.Bytes).ToArray());
            long offset = 0;
            foreach (var block in blocks)
            {
                Assert.Equal(offset, block.Offset);
                Assert.NotEmpty(block.Bytes);
                offset += block.Bytes.Length;
                Assert.True(offset == data.Length || IsRecordBoundary(data, offset), $"sample {sample}: block {block.Index} ends at {offset}, not at a record boundary");
            }
        }
    }

    [Fact]
    public void A_record_longer_than_the_limit_fails_the_take_and_every_take_after_it()
    {
        var data = Encoding.UTF8.GetBytes("a,1\n" + new string('x', 5_000) + ",1\nb,1\n");
        using var reader = new RecordBlockReader(new MemoryStream(data), 0, 100, 4, maxRecordBytes: 1_000, countLines: false);

        var first = reader.Take(CancellationToken.None);
        Assert.Equal("a,1\n", Encoding.UTF8.GetString(first!.Memory.Span));
        reader.Return(first);

        var error = Assert.Throws<InvalidDataException>(() => reader.Take(CancellationToken.None));
        Assert.Contains("no record ends within", error.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidDataException>(() => reader.Take(CancellationToken.None));
    }

    [Fact]
    public void LinesTakenFromTheParse_AreTheLineBreaksOfTheBlock()
    {
        // Blocks end at a record boundary; their last record may hold line breaks, and empty lines may follow it.
        var random = new Random(20261126);
        string[] breaks = ["\n", "\r\n", "\r"];
        for (var sample = 0; sample < 3_000; sample++)
        {
            var text = new StringBuilder();
            var records = random.Next(0, 6);
            for (var i = 0; i < records; i++)
            {
                for (var empty = random.Next(4) == 0 ? random.Next(1, 3) : 0; empty > 0; empty--)
                {
                    text.Append(breaks[random.Next(breaks.Length)]);
                }

                text.Append(random.Next(3) switch
                {
                    0 => "plain",
                    1 => "\"quoted, \"\"twice\"\"\"",
                    _ => $"\"line{breaks[random.Next(breaks.Length)]}break{(random.Next(2) == 0 ? breaks[random.Next(breaks.Length)] + "s" : "")}\"",
                });
                text.Append(",Usage,2024-11-01T00:00:00Z,1.5").Append(breaks[random.Next(2)]);
            }

            for (var empty = random.Next(3) == 0 ? random.Next(1, 3) : 0; empty > 0; empty--)
            {
                text.Append(breaks[random.Next(2)]);
            }

            var bytes = Encoding.UTF8.GetBytes(text.ToString());
            if (bytes.Length == 0)
            {
                continue;
            }

            var counted = new RecordBlock(bytes) { Length = bytes.Length };
            RecordBlockReader.CountLines(counted);
            var parsed = new RecordBlock(bytes) { Length = bytes.Length };
            using (var reader = CsvHelper.CsvReader.Create(parsed.Memory, CostAggregator.ReaderOptions()))
            {
                long line = 0, offset = -1;
                while (reader.Read())
                {
                    line = reader.LineNumber;
                    offset = reader.ByteOffset;
                }

                RecordBlockReader.SetLinesFromParse(parsed, line, offset, reader.LineNumber);
            }

            Assert.True(counted.Lines == parsed.Lines, $"'{text.Replace("\r", "\\r").Replace("\n", "\\n")}': {counted.Lines} line breaks, {parsed.Lines} from the parse");
        }
    }

    [Theory]
    [InlineData(".csv.zip")]
    [InlineData(".csv.gz")]
    public void TheFirstErrorInFileOrder_IsReportedWithItsLineAndColumn(string extension)
    {
        // Errors in two far-apart blocks: the later one is met first by whichever thread gets there.
        var csv = Rows(3_000, cost: row => row switch { 1_500 => "oops", 2_900 => "x", _ => "1.5" });
        var source = CurSource.FromBytes("bad" + extension, Compress(extension, Encoding.UTF8.GetBytes(csv)));

        var error = Assert.Throws<ReportMalformedException>(() => CostAggregator.AggregateFile(source));
        var sequential = Assert.Throws<ReportMalformedException>(() => Sequentially(() => CostAggregator.AggregateFile(source)));

        // Row 1,500 starts at line 1 (header) + 1,499 rows + 149 extra lines of the two-line rows before it + 1.
        Assert.Equal(1 + 1_499 + 149 + 1, error.Line);
        Assert.Equal(4, error.Column);
        Assert.Equal(sequential.Message, error.Message);
    }

    [Fact]
    public void AStrayQuote_ThatMisleadsTheSplit_IsReportedAsBySequentialReading()
    {
        // The quote flips the parity that block boundaries are found by; the block that holds it must fail.
        var csv = Rows(3_000, description: row => row == 1_200 ? "a \"stray quote" : row % 7 == 0 ? "\"line\nbreak\"" : "one");
        var source = CurSource.FromBytes("stray.csv.zip", Compress(".csv.zip", Encoding.UTF8.GetBytes(csv)));

        var error = Assert.Throws<ReportMalformedException>(() => CostAggregator.AggregateFile(source));
        var sequential = Assert.Throws<ReportMalformedException>(() => Sequentially(() => CostAggregator.AggregateFile(source)));

        Assert.Equal(sequential.Message, error.Message);
        Assert.Equal(sequential.Line, error.Line);
    }

    [Fact]
    public void RowsThatStartLikeAByteOrderMark_AreReadAsTheSequentialPassReadsThem()
    {
        // A block reader would take a leading U+FEFF for a byte order mark; such a file is read on sequentially.
        var csv = Rows(2_000, description: row => "\uFEFFrow " + row);
        var source = CurSource.FromBytes("bom.csv.gz", Compress(".csv.gz", Encoding.UTF8.GetBytes(csv)));

        var blocks = CostAggregator.AggregateFile(source);

        CheckpointResumeTests.AssertSameResult(Sequentially(() => CostAggregator.AggregateFile(source)), blocks);
        Assert.Equal(2_000, blocks.Rows);
    }

    [Fact]
    public void ARecordLongerThanABlock_GrowsItsBlock()
    {
        var longText = "\"" + new string('x', 100_000) + "\n" + new string('y', 100_000) + "\"";
        var csv = Rows(3_000, description: row => row == 1_000 ? longText : "one", cost: row => row == 1_000 ? "1000000" : "1.5");
        var source = CurSource.FromBytes("long.csv.zip", Compress(".csv.zip", Encoding.UTF8.GetBytes(csv)));

        var blocks = CostAggregator.AggregateFile(source);

        Assert.Equal(3_000, blocks.Rows);
        Assert.Equal((2_999 * 1.5m) + 1_000_000m, blocks.Totals.Unblended);
        CheckpointResumeTests.AssertSameResult(Sequentially(() => CostAggregator.AggregateFile(source)), blocks);
    }

    [Fact]
    public void ATruncatedArchive_FailsAsInOnePass()
    {
        var gzip = Compress(".csv.gz", Encoding.UTF8.GetBytes(Rows(5_000)));
        var source = CurSource.FromBytes("cut.csv.gz", gzip[..(gzip.Length * 2 / 3)]);

        var error = Assert.Throws<ReportMalformedException>(() => CostAggregator.AggregateFile(source));
        var sequential = Assert.Throws<ReportMalformedException>(() => Sequentially(() => CostAggregator.AggregateFile(source)));

        Assert.Equal(sequential.Message, error.Message);
    }

    [Fact]
    public void AWrongCrc32_IsCaught_ThoughEveryBlockInflates()
    {
        // The parsing threads check the CRC-32 of their blocks; the parts are combined in file order at the end.
        var zip = Compress(".csv.zip", Encoding.UTF8.GetBytes(Rows(5_000)));
        var directory = zip.AsSpan().LastIndexOf("PK\u0001\u0002"u8);
        zip[directory + 16] ^= 0x01;
        var source = CurSource.FromBytes("crc.csv.zip", zip);

        var error = Assert.Throws<ReportMalformedException>(() => CostAggregator.AggregateFile(source));

        Assert.Contains("CRC-32", error.Message, StringComparison.Ordinal);
        Assert.Equal(Assert.Throws<ReportMalformedException>(() => Sequentially(() => CostAggregator.AggregateFile(source))).Message, error.Message);
    }

    [Fact]
    public void Cancellation_StopsAllThreads()
    {
        var source = CurSource.FromBytes("c.csv.zip", Compress(".csv.zip", Encoding.UTF8.GetBytes(Rows(20_000))));
        using var cancellation = new CancellationTokenSource();
        var checkpoints = 0;

        Assert.ThrowsAny<OperationCanceledException>(() => new CostAggregator().AddFile(source, new CheckpointOptions
        {
            EveryRows = 3_000,
            OnCheckpoint = (_, _) =>
            {
                checkpoints++;
                cancellation.Cancel();
            },
        }, cancellation.Token));
        Assert.Equal(1, checkpoints);
    }
}
