using System.Globalization;
using System.Text;

namespace CurWorkflows.LocalAws;

/// <summary>
/// Decodes the <c>aws-chunked</c> body the SDK sends with streaming payload hashes
/// (<c>STREAMING-AWS4-HMAC-SHA256-PAYLOAD</c>, <c>STREAMING-UNSIGNED-PAYLOAD-TRAILER</c>):
/// <c>hex-size[;chunk-signature=...]\r\n data \r\n ... 0\r\n [trailers\r\n] \r\n</c>.
/// Chunk signatures and trailing checksums are not verified (the seed path only).
/// </summary>
internal static class AwsChunkedDecoder
{
    public static async Task DecodeAsync(Stream body, Func<ReadOnlyMemory<byte>, Task> write, CancellationToken cancellationToken)
    {
        var reader = new BufferedStream(body, 64 * 1024);
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var header = await ReadLineAsync(reader, cancellationToken) ?? throw new InvalidDataException("aws-chunked body ended before the final chunk");
            var sizeText = header.Split(';')[0].Trim();
            if (!long.TryParse(sizeText, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var size) || size < 0)
            {
                throw new InvalidDataException($"invalid aws-chunked chunk header '{header}'");
            }

            if (size == 0)
            {
                // Trailers (e.g. x-amz-checksum-crc32:...) until an empty line or the end.
                while (await ReadLineAsync(reader, cancellationToken) is { Length: > 0 })
                {
                }

                return;
            }

            var remaining = size;
            while (remaining > 0)
            {
                var read = await reader.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, remaining)), cancellationToken);
                if (read == 0)
                {
                    throw new InvalidDataException("aws-chunked body ended inside a chunk");
                }

                await write(buffer.AsMemory(0, read));
                remaining -= read;
            }

            if (await ReadLineAsync(reader, cancellationToken) is not { Length: 0 })
            {
                throw new InvalidDataException("aws-chunked chunk not followed by CRLF");
            }
        }
    }

    private static async Task<string?> ReadLineAsync(Stream stream, CancellationToken cancellationToken)
    {
        var line = new StringBuilder();
        var one = new byte[1];
        while (true)
        {
            if (await stream.ReadAsync(one, cancellationToken) == 0)
            {
                return line.Length == 0 ? null : line.ToString();
            }

            if (one[0] == '\n')
            {
                return line.ToString().TrimEnd('\r');
            }

            if (line.Length > 8192)
            {
                throw new InvalidDataException("aws-chunked header line too long");
            }

            line.Append((char)one[0]);
        }
    }
}
