namespace CurWorkflows.Cur.Tests;

/// <summary>
/// A stream read once from front to back that cannot seek (a network body, say), handing out at most
/// <paramref name="most"/> bytes per read (so that a reader must ask again mid-block).
/// </summary>
internal sealed class ForwardOnlyStream(byte[] content, int most = int.MaxValue) : Stream
{
    private readonly MemoryStream _content = new(content, writable: false);

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(Span<byte> buffer) => _content.Read(buffer[..Math.Min(buffer.Length, most)]);

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
