namespace CurWorkflows.Cur.Reading;

/// <summary>Counts the bytes read from the compressed file, for progress; safe to query from another thread.</summary>
internal sealed class CountingStream(Stream inner) : Stream
{
    private long _bytesRead;
    private byte[]? _tail;

    /// <summary>Keep the last <paramref name="length"/> bytes read (a gzip's trailer, when the source cannot seek to it).</summary>
    public void KeepTail(int length) => _tail = new byte[length];

    /// <summary>The last bytes read, as many as <see cref="KeepTail"/> asked for.</summary>
    public byte[] Tail => _tail ?? [];

    public long BytesRead => Volatile.Read(ref _bytesRead);

    public void ResetCount() => Volatile.Write(ref _bytesRead, 0);

    public override bool CanRead => true;

    public override bool CanSeek => inner.CanSeek;

    public override bool CanWrite => false;

    public override long Length => inner.Length;

    public override long Position { get => inner.Position; set => inner.Position = value; }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var read = inner.Read(buffer);
        Volatile.Write(ref _bytesRead, _bytesRead + read);
        if (_tail is { } tail && read > 0)
        {
            var kept = Math.Min(read, tail.Length);
            tail.AsSpan(kept).CopyTo(tail);
            buffer.Slice(read - kept, kept).CopyTo(tail.AsSpan(tail.Length - kept));
        }

        return read;
    }

    public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}

/// <summary>The archive's own integrity data (length, CRC-32) does not match what was inflated.</summary>
internal sealed class CorruptArchiveException(string message) : Exception(message);

/// <summary>
/// Checks the inflated data against the length and CRC-32 that the zip directory or gzip trailer promise, at the end
/// of the stream: .NET's inflater stops silently at a truncated deflate stream. What they promise is asked for only
/// then, so that a file read front to back has its end read last.
/// </summary>
internal sealed class VerifyingStream(Stream inner, Func<ArchiveIntegrity> expected) : ForwardReadStream
{
    private long _length;
    private uint _crc;
    private bool _verified;

    protected override long BytesHandedOut => _length;

    public override int Read(Span<byte> buffer)
    {
        var read = inner.Read(buffer);
        if (read > 0)
        {
            _crc = Crc32.Update(_crc, buffer[..read]);
            _length += read;
        }
        else if (!buffer.IsEmpty && !_verified)
        {
            _verified = true;
            expected().Check(_length, _crc);
        }

        return read;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
