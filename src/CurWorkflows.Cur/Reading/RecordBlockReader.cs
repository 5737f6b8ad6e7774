using System.Runtime.ExceptionServices;

namespace CurWorkflows.Cur.Reading;

/// <summary>Decompressed CSV bytes that start and end at record boundaries, so that blocks can be parsed independently.</summary>
internal sealed class RecordBlock(byte[] buffer)
{
    public byte[] Buffer { get; set; } = buffer;

    /// <summary>Position of the block in the file's sequence of blocks (0, 1, 2...).</summary>
    public long Index { get; set; }

    /// <summary>Where the block's bytes start in <see cref="Buffer"/>.</summary>
    public int Start { get; set; }

    public int Length { get; set; }

    /// <summary>Decompressed offset of the block's first byte in the file.</summary>
    public long Offset { get; set; }

    /// <summary>Line breaks in the block as CsvHelper counts them (LF, CRLF, lone CR); counted only on request.</summary>
    public int Lines { get; set; }

    /// <summary>No more records than this start in the block (line breaks + 1); counted only on request.</summary>
    public int MaxRecords { get; set; }

    /// <summary>Whether <see cref="Lines"/> and <see cref="MaxRecords"/> have been counted.</summary>
    public bool LinesCounted { get; set; }

    public ReadOnlyMemory<byte> Memory => Buffer.AsMemory(Start, Length);

    /// <summary>Inflated bytes in <see cref="Buffer"/> from <see cref="RecordBlockReader.Headroom"/> on, as read; the
    /// block is cut from them when it is taken.</summary>
    internal int ChunkLength { get; set; }

    /// <summary>Whether the chunk holds the file's last bytes (possibly none).</summary>
    internal bool LastChunk { get; set; }
}

/// <summary>
/// Reads (inflates) a CSV stream on its own thread into blocks that end at record boundaries, for parsing on several
/// threads. A line feed ends a record exactly when an even number of quotes precedes it: in RFC 4180 quotes only open
/// and close quoted fields or come in escaped pairs inside them. A file that breaks that rule fails to parse in the
/// block that holds the break (CsvHelper rejects stray quotes), so a wrong split cannot go unnoticed. Memory is
/// bounded by the number of blocks times their size (a block grows only to hold one record longer than a block).
/// The reading thread, which sets the pace, only inflates into fixed chunks; a chunk becomes a block when a parsing
/// thread takes it: in file order, under the reader's lock, the part of a record the chunk before left over (the
/// carry) goes in front of it, into the room left there, and the chunk's own unfinished record becomes the next carry.
/// Waiting threads block on a monitor instead of spinning: on two cores a spinning thread takes time from the one
/// that inflates or parses.
/// </summary>
internal sealed class RecordBlockReader : IDisposable
{
    /// <summary>Room in front of each chunk for the carry; a longer carry moves the block to a buffer of its own.</summary>
    internal const int Headroom = 16 << 10;

    private readonly Stream _data;
    private readonly int _blockBytes;
    private readonly int _maxBlockBytes;
    private readonly bool _countLines;
    private readonly object _gate = new();
    private readonly Queue<RecordBlock> _free = new();
    private readonly Queue<RecordBlock?> _chunks = new();
    private readonly Thread _thread;
    private byte[] _carry = new byte[Headroom];
    private int _carryLength;
    private long _offset;
    private long _index;
    private bool _stopped;
    private bool _ended;
    private ExceptionDispatchInfo? _error;

    /// <param name="data">The decompressed stream, positioned at a record boundary (the caller disposes it).</param>
    /// <param name="startOffset">Decompressed offset of the stream's position in the file.</param>
    /// <param name="blockBytes">Size of a chunk of inflated bytes.</param>
    /// <param name="blockCount">Buffers in use at most (being filled, waiting, being parsed).</param>
    /// <param name="maxRecordBytes">A longer record fails the read (the sequential reader names it).</param>
    /// <param name="countLines">
    /// Whether this reader counts <see cref="RecordBlock.Lines"/> and <see cref="RecordBlock.MaxRecords"/> before handing
    /// a block out; otherwise a consumer that needs them counts them on its own thread (<see cref="CountLines"/>, or
    /// <see cref="SetLinesFromParse"/> after parsing the block).
    /// </param>
    public RecordBlockReader(Stream data, long startOffset, int blockBytes, int blockCount, int maxRecordBytes, bool countLines)
    {
        _data = data;
        _offset = startOffset;
        StartOffset = startOffset;
        _blockBytes = blockBytes;
        _maxBlockBytes = blockBytes + maxRecordBytes;
        _countLines = countLines;
        for (var i = 0; i < blockCount; i++)
        {
            _free.Enqueue(new RecordBlock(new byte[Headroom + blockBytes]));
        }

        _thread = new Thread(Produce) { IsBackground = true, Name = "cur-record-blocks" };
        _thread.Start();
    }

    public long StartOffset { get; }

    /// <summary>The next block in file order, or null after the last one. Rethrows a failure of the reading thread.</summary>
    /// <param name="cancellationToken">Stops the wait.</param>
    /// <param name="backlog">Waits until at least this many chunks (or the end) are ready.</param>
    public RecordBlock? Take(CancellationToken cancellationToken, int backlog = 1)
    {
        lock (_gate)
        {
            while (true)
            {
                if (_ended)
                {
                    // The end stays, for every thread that asks.
                    _error?.Throw();
                    return null;
                }

                if (_chunks.Count < backlog && !_chunks.Contains(null))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    Monitor.Wait(_gate, 50);
                    continue;
                }

                var chunk = _chunks.Dequeue();
                if (chunk is null)
                {
                    _ended = true;
                    Monitor.PulseAll(_gate);
                    continue;
                }

                try
                {
                    if (Cut(chunk))
                    {
                        return chunk;
                    }
                }
                catch (Exception e)
                {
                    // Whatever follows a failed cut would start in the wrong place: every later call fails the same way.
                    _error ??= ExceptionDispatchInfo.Capture(e);
                    _ended = true;
                    Monitor.PulseAll(_gate);
                    throw;
                }
            }
        }
    }

    /// <summary>Gives a parsed block's buffer back for reuse.</summary>
    public void Return(RecordBlock block)
    {
        lock (_gate)
        {
            ReturnLocked(block);
        }
    }

    private void ReturnLocked(RecordBlock block)
    {
        if (block.Buffer.Length != Headroom + _blockBytes)
        {
            block.Buffer = new byte[Headroom + _blockBytes];
        }

        _free.Enqueue(block);
        Monitor.PulseAll(_gate);
    }

    /// <summary>
    /// Makes <paramref name="chunk"/> the next block: the carry in front, up to its last record boundary. False when no
    /// record ends in it (the whole chunk joins the carry, and the buffer goes back). Called in file order, under the lock.
    /// </summary>
    private bool Cut(RecordBlock chunk)
    {
        var dataEnd = Headroom + chunk.ChunkLength;
        int start;
        if (_carryLength <= Headroom)
        {
            start = Headroom - _carryLength;
            _carry.AsSpan(0, _carryLength).CopyTo(chunk.Buffer.AsSpan(start));
        }
        else
        {
            // A record longer than the room in front: the block moves to a buffer of its own (freed on return).
            var buffer = new byte[_carryLength + chunk.ChunkLength];
            _carry.AsSpan(0, _carryLength).CopyTo(buffer);
            chunk.Buffer.AsSpan(Headroom, chunk.ChunkLength).CopyTo(buffer.AsSpan(_carryLength));
            chunk.Buffer = buffer;
            start = 0;
            dataEnd = buffer.Length;
        }

        var bytes = chunk.Buffer.AsSpan(start, dataEnd - start);
        var boundary = chunk.LastChunk ? bytes.Length : RecordBoundary(bytes);
        if (boundary <= 0)
        {
            if (bytes.Length >= _maxBlockBytes)
            {
                throw new InvalidDataException($"no record ends within {bytes.Length} bytes at offset {_offset}");
            }

            // No record ends in this chunk: all of it waits for the next one.
            KeepAsCarry(bytes);
            ReturnLocked(chunk);
            return false;
        }

        if (_offset != StartOffset && bytes[0] is 0x00 or 0xEF or 0xFE or 0xFF)
        {
            // A reader starting here would take these bytes for a byte order mark; the sequential one would not.
            throw new InvalidDataException($"a record at offset {_offset} starts like a byte order mark");
        }

        KeepAsCarry(bytes[boundary..]);
        chunk.Start = start;
        chunk.Length = boundary;
        chunk.Offset = _offset;
        chunk.Index = _index++;
        chunk.Lines = 0;
        chunk.MaxRecords = 0;
        chunk.LinesCounted = false;
        if (_countLines)
        {
            CountLines(chunk);
        }

        _offset += boundary;
        return true;
    }

    /// <summary>Copies an unfinished record out of its chunk, which may be reused before the next cut.</summary>
    private void KeepAsCarry(ReadOnlySpan<byte> unfinished)
    {
        if (unfinished.Length > _carry.Length)
        {
            _carry = new byte[Math.Max(unfinished.Length, _carry.Length * 2)];
        }

        unfinished.CopyTo(_carry);
        _carryLength = unfinished.Length;
    }

    private RecordBlock? TakeFree()
    {
        lock (_gate)
        {
            while (_free.Count == 0 && !_stopped)
            {
                Monitor.Wait(_gate);
            }

            return _stopped ? null : _free.Dequeue();
        }
    }

    private void Emit(RecordBlock? chunk)
    {
        lock (_gate)
        {
            _chunks.Enqueue(chunk);
            Monitor.PulseAll(_gate);
        }
    }

    private void Produce()
    {
        try
        {
            while (true)
            {
                var chunk = TakeFree();
                if (chunk is null)
                {
                    return;
                }

                var buffer = chunk.Buffer;
                var length = 0;
                var end = false;
                while (length < _blockBytes)
                {
                    var read = _data.Read(buffer, Headroom + length, _blockBytes - length);
                    if (read == 0)
                    {
                        end = true;
                        break;
                    }

                    length += read;
                }

                chunk.ChunkLength = length;
                chunk.LastChunk = end;
                Emit(chunk);
                if (end)
                {
                    Emit(null);
                    return;
                }
            }
        }
#pragma warning disable CA1031 // Any failure of the inner stream is handed to the parsing threads, which rethrow it.
        catch (Exception e)
#pragma warning restore CA1031
        {
            lock (_gate)
            {
                _error ??= ExceptionDispatchInfo.Capture(e);
            }

            Emit(null);
        }
    }

    /// <summary>The offset just past the last line feed that is outside quotes, or -1.</summary>
    private static int RecordBoundary(ReadOnlySpan<byte> data)
    {
        // Quotes before a line feed = all quotes - quotes after it; only the parity matters.
        var quotes = data.Count((byte)'"');
        var end = data.Length;
        while (true)
        {
            var lineFeed = data[..end].LastIndexOf((byte)'\n');
            if (lineFeed < 0)
            {
                return -1;
            }

            quotes -= data[lineFeed..end].Count((byte)'"');
            if ((quotes & 1) == 0)
            {
                return lineFeed + 1;
            }

            end = lineFeed;
        }
    }

    /// <summary>
    /// Sets <see cref="RecordBlock.Lines"/> from what a line-tracking reader saw while it parsed the block, without
    /// another pass over it: the line it stopped at (<paramref name="lineAtEnd"/>: where the last record or the last
    /// empty line starts) and the line and byte offset where the last record started. The same count as
    /// <see cref="CountLines"/>; <see cref="RecordBlock.MaxRecords"/> is left alone.
    /// </summary>
    public static void SetLinesFromParse(RecordBlock block, long lastRecordLine, long lastRecordOffset, long lineAtEnd)
    {
        if (block.LinesCounted)
        {
            return;
        }

        if (lastRecordOffset < 0 || lineAtEnd > lastRecordLine)
        {
            // The block ends with empty lines, one line each: the reader stopped at the start of the last one.
            block.Lines = (int)lineAtEnd;
        }
        else
        {
            // The block ends with its last record: the lines before it, plus the line breaks in it and after it.
            block.Lines = (int)(lastRecordLine - 1) + LineBreaks(block.Memory.Span[(int)lastRecordOffset..]).Lines;
        }

        block.LinesCounted = true;
    }

    /// <summary>Line breaks as CsvHelper counts them (LF, CRLF, lone CR), and the LF and CR bytes together.</summary>
    private static (int Lines, int Ends) LineBreaks(ReadOnlySpan<byte> data)
    {
        var lineFeeds = data.Count((byte)'\n');
        var returns = data.Count((byte)'\r');
        var pairs = returns == 0 ? 0 : data.Count("\r\n"u8);
        return (lineFeeds + returns - pairs, lineFeeds + returns);
    }

    public static void CountLines(RecordBlock block)
    {
        if (block.LinesCounted)
        {
            return;
        }

        var (lines, ends) = LineBreaks(block.Memory.Span);
        block.Lines = lines;
        block.MaxRecords = ends + 1;
        block.LinesCounted = true;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _stopped = true;
            Monitor.PulseAll(_gate);
        }

        _thread.Join();
    }
}
