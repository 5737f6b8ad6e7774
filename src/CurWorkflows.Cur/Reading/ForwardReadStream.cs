namespace CurWorkflows.Cur.Reading;

/// <summary>What the reader's read-only, forward-only streams have in common: a subclass reads into a span and counts
/// the bytes it handed out.</summary>
internal abstract class ForwardReadStream : Stream
{
    public sealed override bool CanRead => true;

    public sealed override bool CanSeek => false;

    public sealed override bool CanWrite => false;

    public sealed override long Length => throw new NotSupportedException();

    public sealed override long Position { get => BytesHandedOut; set => throw new NotSupportedException(); }

    /// <summary>The bytes the stream's reads have returned so far.</summary>
    protected abstract long BytesHandedOut { get; }

    public sealed override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public abstract override int Read(Span<byte> buffer);

    public sealed override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public sealed override void Flush()
    {
    }

    public sealed override void SetLength(long value) => throw new NotSupportedException();

    public sealed override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
