using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;

namespace CurWorkflows.Cur.Reading;

/// <summary>
/// Reads (inflates) the inner stream on its own thread into a few fixed buffers, so that inflating and CSV parsing
/// run on two cores at once. Memory is bounded by chunkCount x chunkSize.
/// </summary>
internal sealed class ReadAheadStream : ForwardReadStream
{
    private readonly Stream _inner;
    private readonly BlockingCollection<Chunk> _free = new();
    private readonly BlockingCollection<Chunk> _filled = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;
    private Chunk? _current;
    private int _position;
    private long _consumed;
    private ExceptionDispatchInfo? _error;
    private bool _ended;

    public ReadAheadStream(Stream inner, int chunkSize = 1 << 20, int chunkCount = 4)
    {
        _inner = inner;
        for (var i = 0; i < chunkCount; i++)
        {
            _free.Add(new Chunk(new byte[chunkSize]));
        }

        _thread = new Thread(Produce) { IsBackground = true, Name = "cur-read-ahead" };
        _thread.Start();
    }

    protected override long BytesHandedOut => _consumed;

    public override int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        while (_current is null || _position == _current.Length)
        {
            if (_ended)
            {
                _error?.Throw();
                return 0;
            }

            if (_current is not null)
            {
                _free.Add(_current);
                _current = null;
            }

            var next = _filled.Take();
            if (next.Length <= 0)
            {
                _ended = true;
                _error = next.Error;
                _free.Add(next);
                continue;
            }

            _current = next;
            _position = 0;
        }

        var count = Math.Min(buffer.Length, _current.Length - _position);
        _current.Buffer.AsSpan(_position, count).CopyTo(buffer);
        _position += count;
        _consumed += count;
        return count;
    }

    private void Produce()
    {
        try
        {
            while (true)
            {
                var chunk = _free.Take(_stop.Token);
                var length = 0;
                while (length < chunk.Buffer.Length)
                {
                    var read = _inner.Read(chunk.Buffer, length, chunk.Buffer.Length - length);
                    if (read == 0)
                    {
                        break;
                    }

                    length += read;
                }

                chunk.Length = length;
                chunk.Error = null;
                _filled.Add(chunk);
                if (length == 0)
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
#pragma warning disable CA1031 // Any failure of the inner stream is handed to the reading thread, which rethrows it.
        catch (Exception e)
#pragma warning restore CA1031
        {
            _filled.Add(new Chunk([]) { Length = 0, Error = ExceptionDispatchInfo.Capture(e) });
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _stop.Cancel();
            _thread.Join();
            _inner.Dispose();
            _stop.Dispose();
            _free.Dispose();
            _filled.Dispose();
        }

        base.Dispose(disposing);
    }

    private sealed class Chunk(byte[] buffer)
    {
        public byte[] Buffer { get; } = buffer;

        public int Length { get; set; }

        public ExceptionDispatchInfo? Error { get; set; }
    }
}
