using System.Diagnostics;
using System.Runtime.ExceptionServices;
using CsvHelper;
using CurWorkflows.Cur.Reading;

namespace CurWorkflows.Cur.Aggregation;

public sealed partial class CostAggregator
{
    private const int BlocksInFlight = 6;

    /// <summary>Compressed files are parsed in blocks on several threads (tests switch it off to compare with one pass).</summary>
    internal static bool CompressedInBlocks { get; set; } = true;

    /// <summary>Size of a block of decompressed CSV (tests make it small, so that small files span many blocks).</summary>
    internal static int BlockBytes { get; set; } = 1 << 20;

    /// <summary>
    /// Reads a compressed file in blocks that end at record boundaries (<see cref="RecordBlockReader"/>): one thread
    /// inflates, the others (the calling thread among them) parse whole blocks, each into its own partial state. The
    /// partial states are merged into this aggregator at commit points: at the end, and with checkpoints at every
    /// checkpoint, so that a checkpoint's position is one up to which every row has been aggregated. A block that
    /// could hold the row where the next checkpoint is due is parsed alone, row by row, exactly like a sequential
    /// pass, so checkpoints fall on the same rows, lines and offsets. Any failure (bad data, a corrupt archive) makes
    /// the file continue sequentially from the last commit, which reports the first error in file order with its
    /// line and column, the same as a sequential pass. The parsing threads also compute the CRC-32 of their blocks,
    /// combined in file order and checked at the end, which keeps that work off the inflating thread (the one
    /// that sets the pace).
    /// </summary>
#pragma warning disable CA1001 // _blocks and _data live in Run's using statements; the object does not outlive Run.
    private sealed class BlockFileReading(CostAggregator owner, CurSource source, CheckpointOptions? checkpoints, CancellationToken cancellationToken)
#pragma warning restore CA1001
    {
        private readonly object _lock = new();
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly List<CostAggregator> _uncommitted = [];
        private readonly CsvReaderOptions _blockOptions = ReaderOptions() with { TrackLineNumbers = false };
        private readonly CsvReaderOptions _trackedOptions = ReaderOptions();
        private RecordBlockReader _blocks = null!;
        private CurDataStream _data = null!;
        private Columns _columns = null!;
        private readonly Queue<RecordBlock> _held = new();
        private ExceptionDispatchInfo? _callbackError;

        // Everything before the committed position is in the owner's state; "reached" is where parsing got to.
        private long _committedRows;
        private long _committedLine;
        private long _committedOffset;
        private long _reachedLine;
        private long _reachedOffset;

        // The round of parallel parsing under way; blocks are handed out or held in file order.
        private long _nextIndex;
        private long _handedMaxRecords;
        private bool _ended;
        private bool _failed;
        private bool _pause;

        // Length and CRC-32 of the inflated data so far, in file order; blocks are checked on the parsing threads.
        private readonly Dictionary<long, (uint Crc, int Length)> _unfoldedCrcs = [];
        private long _nextCrcIndex;
        private long _inflatedLength;
        private uint _inflatedCrc;

        private long _nextByRows = long.MaxValue;
        private TimeSpan _lastCheckpointAt;
        private long _lastCheckpointRows;

        /// <summary>Where a sequential pass takes over after <see cref="Run"/> returned false.</summary>
        public CurReadPosition? FallbackPosition { get; private set; }

        public long NextCheckpointRows => _nextByRows;

        private TimeSpan Interval => checkpoints?.Interval ?? TimeSpan.Zero;

        /// <summary>Reads the whole file; false when it must be read on sequentially from <see cref="FallbackPosition"/>.</summary>
        public bool Run(CurReadPosition? resumeAt, string? expectedHeader)
        {
            FallbackPosition = resumeAt;
            _committedRows = resumeAt?.Rows ?? 0;
            _committedLine = _reachedLine = resumeAt?.Line ?? 1;
            _committedOffset = _reachedOffset = resumeAt?.DecompressedBytes ?? 0;
            _lastCheckpointRows = _committedRows;
            _nextByRows = checkpoints?.EveryRows > 0 ? _committedRows + checkpoints.EveryRows : long.MaxValue;
            try
            {
                var reading = new FileReading(owner, source, null, cancellationToken);
                if (resumeAt is not null)
                {
                    string headerText;
                    using (var headerStream = reading.Open())
                    {
                        _columns = Columns.FromHeader(reading.ReadHeader(headerStream, out headerText), owner._options, source.Name);
                    }

                    if (headerText != (expectedHeader ?? headerText))
                    {
                        return false;
                    }

                    StartFile(headerText);
                }

                using (_data = CurDataStream.Open(source, readAhead: false, verify: false))
                {
                    _inflatedCrc = _data.SkipTo(_committedOffset);
                    _inflatedLength = _committedOffset;
                    // Lines are counted for checkpoint positions. The inflating thread sets the pace, so they are counted
                    // there only when a row-count checkpoint needs a block's record bound before handing it out; else
                    // the parsing threads take them from the parse (see Work).
                    var countLinesWhileReading = checkpoints is { EveryRows: > 0 };
                    using (_blocks = new RecordBlockReader(_data.Data, _committedOffset, BlockBytes, BlocksInFlight, MaxRecordBytes, countLinesWhileReading))
                    {
                        ReadBlocks(withHeader: resumeAt is null);
                    }

                    _data.CheckIntegrity(_inflatedLength, _inflatedCrc);
                    Commit();
                    owner._decompressedBytes += _inflatedLength;
                    owner._compressedBytes += _data.CompressedBytesRead;
                }

                return true;
            }
            catch (Exception e) when (e is not OperationCanceledException && _callbackError is null)
            {
                // The sequential pass from the last commit finds the first error in file order and names its place.
                FallbackPosition = _committedOffset == (resumeAt?.DecompressedBytes ?? 0)
                    ? resumeAt
                    : new CurReadPosition(_committedRows, _committedLine, _committedOffset, 0);
                return false;
            }
        }

        private void StartFile(string headerText)
        {
            owner._tagColumnPresent |= _columns.Tag >= 0;
            owner._inProgressFile = source.Name;
            owner._inProgressHeader = headerText;
        }

        private void ReadBlocks(bool withHeader)
        {
            if (withHeader)
            {
                var first = _blocks.Take(cancellationToken);
                if (first is null)
                {
                    throw new InvalidDataException("the file is empty");
                }

                _nextIndex = first.Index + 1;
                ParseAlone(first, withHeader: true);
                if (checkpoints is not null)
                {
                    Commit();
                }
            }

            while (true)
            {
                if (_held.Count == 0 && !_ended)
                {
                    RunRound();
                }

                if (_held.Count == 0 && _ended)
                {
                    return;
                }

                if (checkpoints is null)
                {
                    continue;
                }

                Commit();

                // A checkpoint is near: blocks are parsed alone until it has been taken.
                var taken = false;
                while (!taken)
                {
                    var block = _held.Count > 0 ? _held.Dequeue() : _blocks.Take(cancellationToken);
                    if (block is null)
                    {
                        _ended = true;
                        break;
                    }

                    _nextIndex = block.Index + 1;
                    taken = ParseAlone(block, withHeader: false);
                    Commit();
                }
            }
        }

        /// <summary>Parses blocks on all workers until the file ends or a checkpoint is near.</summary>
        private void RunRound()
        {
            _pause = false;
            _handedMaxRecords = 0;
            var workers = Math.Clamp(Environment.ProcessorCount, 2, 3);
            var partials = new CostAggregator[workers];
            for (var i = 0; i < workers; i++)
            {
                partials[i] = new CostAggregator(owner._options);
            }

            // With two cores, the helpers parse only when blocks pile up: three busy threads would share two cores
            // evenly, and the inflating thread, which sets the pace, would get two thirds of one.
            var helperBacklog = Environment.ProcessorCount > 2 ? 1 : 2;
            var others = new Task[workers - 1];
            for (var i = 1; i < workers; i++)
            {
                var partial = partials[i];
                others[i - 1] = Task.Factory.StartNew(() => Work(partial, helperBacklog), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            }

            Exception? error = null;
            try
            {
                Work(partials[0], backlog: 1);
            }
#pragma warning disable CA1031 // The first failure is rethrown below, after the other workers have stopped.
            catch (Exception e)
#pragma warning restore CA1031
            {
                error = e;
            }

            foreach (var other in others)
            {
                try
                {
                    other.GetAwaiter().GetResult();
                }
#pragma warning disable CA1031
                catch (Exception e)
#pragma warning restore CA1031
                {
                    error ??= e;
                }
            }

            if (error is not null)
            {
                ExceptionDispatchInfo.Capture(error).Throw();
            }

            _uncommitted.AddRange(partials);
        }

        private void Work(CostAggregator partial, int backlog)
        {
            var reading = new FileReading(partial, source, null, cancellationToken);
            try
            {
                while (Next(backlog) is { } block)
                {
                    if (checkpoints is null)
                    {
                        using var reader = CsvReader.Create(block.Memory, _blockOptions);
                        reading.AggregateRecords(reader, _columns);
                    }
                    else
                    {
                        // Checkpoints name their line: the reader tracks lines as it parses, which costs far less than
                        // counting the block's line breaks again.
                        using var reader = CsvReader.Create(block.Memory, _trackedOptions);
                        var (line, offset) = reading.AggregateTrackedRecords(reader, _columns);
                        RecordBlockReader.SetLinesFromParse(block, line, offset, reader.LineNumber);
                    }

                    Inflated(block, handedOut: true);
                    _blocks.Return(block);
                }
            }
            catch
            {
                lock (_lock)
                {
                    _failed = true;
                }

                throw;
            }
        }

        /// <summary>The next block for a worker, or null when the round ends.</summary>
        private RecordBlock? Next(int backlog)
        {
            lock (_lock)
            {
                if (_failed || _ended || _pause)
                {
                    return null;
                }

                cancellationToken.ThrowIfCancellationRequested();
                if (Interval > TimeSpan.Zero && _clock.Elapsed - _lastCheckpointAt >= Interval)
                {
                    _pause = true;
                    return null;
                }
            }

            // Taken outside the lock, so that a worker waiting for the inflating thread does not hold up the others.
            var block = _blocks.Take(cancellationToken, backlog);
            lock (_lock)
            {
                if (block is null)
                {
                    _ended = true;
                    return null;
                }

                // Blocks are handed out or held strictly in file order: a held block is followed only by held ones.
                while (_nextIndex != block.Index)
                {
                    Monitor.Wait(_lock);
                }

                _nextIndex++;
                Monitor.PulseAll(_lock);
                if (_failed || _pause || (checkpoints is not null && _committedRows + _handedMaxRecords + block.MaxRecords >= _nextByRows))
                {
                    _held.Enqueue(block);
                    _pause = true;
                    return null;
                }

                _handedMaxRecords += block.MaxRecords;
                _reachedOffset = block.Offset + block.Length;
                return block;
            }
        }

        /// <summary>
        /// Parses one block on this thread, taking checkpoints on exactly the rows a sequential pass takes them.
        /// Returns whether a checkpoint was taken.
        /// </summary>
        private bool ParseAlone(RecordBlock block, bool withHeader)
        {
            var taken = false;
            var partial = new CostAggregator(owner._options);
            var reading = new FileReading(partial, source, null, cancellationToken);
            var startLine = _reachedLine;
            if (checkpoints is not null)
            {
                RecordBlockReader.CountLines(block);
            }

            using (var reader = CsvReader.Create(block.Memory, checkpoints is null ? _blockOptions : _trackedOptions))
            {
                if (withHeader)
                {
                    var header = reading.ReadHeaderRecord(reader, out var headerText);
                    _columns = Columns.FromHeader(header, owner._options, source.Name);
                    StartFile(headerText);
                }

                while (reader.Read())
                {
                    if (checkpoints is not null && CheckpointDue(_committedRows + UncommittedRows() + partial._rows))
                    {
                        _uncommitted.Add(partial);
                        partial = new CostAggregator(owner._options);
                        reading = new FileReading(partial, source, null, cancellationToken);
                        _reachedOffset = block.Offset + reader.ByteOffset;
                        _reachedLine = startLine + reader.LineNumber - 1;
                        Commit();
                        Checkpoint();
                        taken = true;
                    }

                    reading.AggregateRecord(reader, _columns);
                }
            }

            _uncommitted.Add(partial);
            _reachedOffset = block.Offset + block.Length;
            _reachedLine = startLine + block.Lines;
            Inflated(block, handedOut: false);
            _blocks.Return(block);
            return taken;
        }

        /// <summary>
        /// Adds a parsed block to the inflated length and CRC-32, in file order whatever order blocks finish in; and the
        /// lines of a block parsed in a round to the reached line (a round's blocks are all parsed before its commit).
        /// </summary>
        private void Inflated(RecordBlock block, bool handedOut)
        {
            var crc = _data.ChecksIntegrity ? Crc32.Update(0, block.Memory.Span) : 0;
            lock (_lock)
            {
                if (handedOut)
                {
                    _reachedLine += block.Lines;
                }

                _unfoldedCrcs.Add(block.Index, (crc, block.Length));
                while (_unfoldedCrcs.Remove(_nextCrcIndex, out var next))
                {
                    _inflatedCrc = Crc32.Combine(_inflatedCrc, next.Crc, next.Length);
                    _inflatedLength += next.Length;
                    _nextCrcIndex++;
                }
            }
        }

        /// <summary>The sequential pass's rule: every N rows, or at a multiple of 4,096 rows once the interval has passed.</summary>
        private bool CheckpointDue(long rowsInFile) =>
            rowsInFile > _lastCheckpointRows
            && (rowsInFile >= _nextByRows || (Interval > TimeSpan.Zero && (rowsInFile & 4095) == 0 && _clock.Elapsed - _lastCheckpointAt >= Interval));

        private long UncommittedRows()
        {
            long rows = 0;
            foreach (var partial in _uncommitted)
            {
                rows += partial._rows;
            }

            return rows;
        }

        private void Checkpoint()
        {
            cancellationToken.ThrowIfCancellationRequested();
            var position = new CurReadPosition(_committedRows, _committedLine, _committedOffset, _data.CompressedBytesRead);
            owner._inProgressPosition = position;
            try
            {
                checkpoints!.OnCheckpoint(owner, new CurCheckpoint(source.Name, position, owner._rows, owner.AggregateCount));
            }
            catch (Exception e)
            {
                _callbackError = ExceptionDispatchInfo.Capture(e);
                throw;
            }

            _nextByRows = checkpoints.EveryRows > 0 ? _committedRows + checkpoints.EveryRows : long.MaxValue;
            _lastCheckpointAt = _clock.Elapsed;
            _lastCheckpointRows = _committedRows;
        }

        /// <summary>Merges the partial states into the owner; the reached position becomes the committed one.</summary>
        private void Commit()
        {
            // Rows of two billing periods are an error that the sequential pass reports at its row.
            var period = owner._billingPeriodStart;
            foreach (var partial in _uncommitted)
            {
                if (partial._billingPeriodStart is { } start)
                {
                    if (period is { } known && known != start)
                    {
                        throw new InvalidDataException("rows of two billing periods");
                    }

                    period = start;
                }
            }

            foreach (var partial in _uncommitted)
            {
                _committedRows += partial._rows;
                owner.MergeFrom(partial, source.Name);
            }

            _uncommitted.Clear();
            _committedOffset = _reachedOffset;
            _committedLine = _reachedLine;
        }
    }
}
