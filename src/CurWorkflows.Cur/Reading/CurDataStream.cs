using System.Buffers.Binary;
using System.IO.Compression;

namespace CurWorkflows.Cur.Reading;

/// <summary>The decompressed CSV bytes of a <see cref="CurSource"/>, with the count of compressed bytes read so far.</summary>
internal sealed class CurDataStream : IDisposable
{
    private readonly CountingStream _raw;
    private readonly IDisposable? _archive;
    private readonly Func<ArchiveIntegrity>? _integrity;

    private CurDataStream(CountingStream raw, Stream data, IDisposable? archive, Func<ArchiveIntegrity>? integrity = null)
    {
        _raw = raw;
        Data = data;
        _archive = archive;
        _integrity = integrity;
    }

    public Stream Data { get; }

    /// <summary>The stream that inflates the compressed data (null for plain CSV): tests check which one is used.</summary>
    internal Stream? Inflater { get; private init; }

    /// <summary>Whether the caller checks the inflated length and CRC-32 itself (opened without verifying).</summary>
    public bool ChecksIntegrity => _integrity is not null;

    /// <summary>Throws when what was inflated does not match what the archive promises (read from its end now, for a
    /// source read front to back).</summary>
    public void CheckIntegrity(long length, uint crc) => _integrity?.Invoke().Check(length, crc);

    public long CompressedBytesRead => _raw.BytesRead;

    /// <summary>
    /// Opens the source; a compressed one is inflated on its own thread when <paramref name="readAhead"/>. Without
    /// <paramref name="verify"/>, the inflated length and CRC-32 are left to the caller (<see cref="Integrity"/>).
    /// </summary>
    public static CurDataStream Open(CurSource source, bool readAhead, bool verify = true)
    {
        var raw = new CountingStream(source.Open());
        try
        {
            return source.Compression switch
            {
                CurCompression.Zip => OpenZip(source, raw, readAhead, verify),
                CurCompression.Gzip => OpenGzip(source, raw, readAhead, verify),
                _ => new CurDataStream(raw, raw, null),
            };
        }
        catch
        {
            raw.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Moves to a decompressed offset: a seek for plain files, inflating and discarding for archives. Returns the
    /// CRC-32 of the bytes skipped when they were inflated, else 0.
    /// </summary>
    public uint SkipTo(long offset)
    {
        if (ReferenceEquals(Data, _raw) && _raw.CanSeek)
        {
            _raw.Seek(offset, SeekOrigin.Begin);
            return 0;
        }

        var crc = 0u;
        var buffer = new byte[1 << 16];
        var remaining = offset;
        while (remaining > 0)
        {
            var read = Data.Read(buffer, 0, (int)Math.Min(buffer.Length, remaining));
            if (read == 0)
            {
                throw new CorruptArchiveException($"the file ends at {offset - remaining} bytes, before the checkpoint at {offset}");
            }

            if (ChecksIntegrity)
            {
                crc = Crc32.Update(crc, buffer.AsSpan(0, read));
            }

            remaining -= read;
        }

        return crc;
    }

    private static CurDataStream OpenZip(CurSource source, CountingStream raw, bool readAhead, bool verify)
    {
        if (!raw.CanSeek)
        {
            throw new ArgumentException($"zip source '{source.Name}' must be opened as a seekable stream", nameof(source));
        }

        if (source.FrontToBack)
        {
            return OpenZipFromLocalHeader(source, raw, readAhead, verify);
        }

        var archive = OpenArchive(source, raw);
        try
        {
            var entry = SingleEntry(source, archive);
            Stream entryStream;
            if (AtEntryData(raw, entry))
            {
                // A CUR zip's one entry starts at the file's first byte; anything else goes through ZipArchive.
                raw.ResetCount();
                entryStream = RawInflateStream.Open(raw, leaveOpen: true);
            }
            else
            {
                try
                {
                    entryStream = entry.Open();
                }
                catch (InvalidDataException e)
                {
                    throw new ReportMalformedException(source.Name, null, null, null, $"zip entry '{entry.FullName}' cannot be opened: {e.Message}", e);
                }

                raw.ResetCount();
            }

            var integrity = new ArchiveIntegrity(entry.Length, entry.Crc32, LengthModulo32: false, $"zip entry '{entry.FullName}'");
            return Finish(raw, entryStream, archive, () => integrity, readAhead, verify);
        }
        catch
        {
            archive.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Inflates the entry that starts at the file's first byte (a CUR zip holds one), and reads the central directory
    /// at the end only once the entry has been read, to check that it is the only entry and what it must inflate to.
    /// </summary>
    private static CurDataStream OpenZipFromLocalHeader(CurSource source, CountingStream raw, bool readAhead, bool verify)
    {
        string name;
        try
        {
            var header = ReadLocalHeader(raw)
                ?? throw new ReportMalformedException(source.Name, null, null, null, "not a readable zip archive: it does not start with a local file header");
            name = header.Name;
            if (!header.Deflated)
            {
                // AWS deflates every report; a stored or encrypted entry could not be read without its directory record.
                throw new ReportMalformedException(
                    source.Name, null, null, null, $"zip entry '{name}' is {(header.Encrypted ? "encrypted" : $"compressed with method {header.Method}")}, not deflated");
            }
        }
        catch (EndOfStreamException e)
        {
            throw new ReportMalformedException(source.Name, null, null, null, "not a readable zip archive: it ends inside its first local file header", e);
        }

        raw.ResetCount();
        var entryStream = RawInflateStream.Open(raw, leaveOpen: true);

        // Asked for once, when the entry has been read.
        ArchiveIntegrity ReadDirectory()
        {
            using var archive = OpenArchive(source, raw);
            var entry = SingleEntry(source, archive);
            if (entry.FullName != name)
            {
                throw new ReportMalformedException(
                    source.Name, null, null, null, $"not a readable zip archive: its first entry is '{name}', its directory names '{entry.FullName}'");
            }

            return new ArchiveIntegrity(entry.Length, entry.Crc32, LengthModulo32: false, $"zip entry '{name}'");
        }

        return Finish(raw, entryStream, null, ReadDirectory, readAhead, verify);
    }

    private readonly record struct LocalHeader(string Name, ushort Flags, ushort Method)
    {
        public bool Encrypted => (Flags & 1) != 0;

        public bool Deflated => !Encrypted && Method == 8;
    }

    /// <summary>The zip local file header at the stream's position, which is left at the entry's data; null when the
    /// bytes there are not one.</summary>
    /// <exception cref="EndOfStreamException">The stream ends inside the header.</exception>
    private static LocalHeader? ReadLocalHeader(Stream raw)
    {
        const uint LocalHeaderSignature = 0x04034b50;
        Span<byte> header = stackalloc byte[30];
        raw.ReadExactly(header);
        if (BinaryPrimitives.ReadUInt32LittleEndian(header) != LocalHeaderSignature)
        {
            return null;
        }

        var nameBytes = new byte[BinaryPrimitives.ReadUInt16LittleEndian(header[26..])];
        raw.ReadExactly(nameBytes);
        raw.ReadExactly(new byte[BinaryPrimitives.ReadUInt16LittleEndian(header[28..])]);
        return new LocalHeader(System.Text.Encoding.UTF8.GetString(nameBytes), BinaryPrimitives.ReadUInt16LittleEndian(header[6..]), BinaryPrimitives.ReadUInt16LittleEndian(header[8..]));
    }

    /// <summary>Whether the file starts with <paramref name="entry"/>'s deflated data, leaving the stream there if so.</summary>
    private static bool AtEntryData(Stream raw, ZipArchiveEntry entry)
    {
        raw.Seek(0, SeekOrigin.Begin);
        try
        {
            return ReadLocalHeader(raw) is { Deflated: true } header && header.Name == entry.FullName;
        }
        catch (EndOfStreamException)
        {
            return false;
        }
    }

    private static ZipArchive OpenArchive(CurSource source, CountingStream raw)
    {
        try
        {
            return new ZipArchive(raw, ZipArchiveMode.Read, leaveOpen: true);
        }
        catch (InvalidDataException e)
        {
            throw new ReportMalformedException(source.Name, null, null, null, $"not a readable zip archive: {e.Message}", e);
        }
    }

    private static ZipArchiveEntry SingleEntry(CurSource source, ZipArchive archive) =>
        archive.Entries.Count == 1
            ? archive.Entries[0]
            : throw new ReportMalformedException(
                source.Name, null, null, null, $"a CUR zip must hold exactly one CSV entry, this one holds {archive.Entries.Count}");

    private static CurDataStream OpenGzip(CurSource source, CountingStream raw, bool readAhead, bool verify)
    {
        Stream data = new GZipStream(raw, CompressionMode.Decompress, leaveOpen: true);
        if (!raw.CanSeek)
        {
            // The trailer is the last 8 bytes: kept as they go by, and read once the data has ended (a truncated deflate
            // stream just ends early in .NET, so without it a cut file would pass).
            raw.KeepTail(8);
            return Finish(raw, data, null, TrailerAtTheEnd, readAhead, verify);
        }

        // A single-member gzip (what AWS writes) ends with CRC-32 and length mod 2^32 of the whole content.
        ArchiveIntegrity ReadTrailer()
        {
            if (raw.Length < 18)
            {
                throw new ReportMalformedException(source.Name, null, null, null, $"not a gzip file: {raw.Length} bytes is shorter than the gzip header and trailer");
            }

            Span<byte> trailer = stackalloc byte[8];
            var position = raw.Position;
            raw.Seek(-8, SeekOrigin.End);
            raw.ReadExactly(trailer);
            raw.Seek(position, SeekOrigin.Begin);
            return Trailer(trailer);
        }

        // .NET's GZipStream reads on through further members (files joined with cat), and zlib checks each member's
        // trailer; the file's last trailer only covers the last member, so such a file cannot be told from a cut one.
        static ArchiveIntegrity Trailer(ReadOnlySpan<byte> trailer) => new(
            BinaryPrimitives.ReadUInt32LittleEndian(trailer[4..]),
            BinaryPrimitives.ReadUInt32LittleEndian(trailer),
            LengthModulo32: true,
            "gzip data",
            "; or the file holds several gzip members (as files joined with cat do), which is not supported: recompress it as one");

        if (source.FrontToBack)
        {
            // Asked for once, when the data has been read.
            return Finish(raw, data, null, ReadTrailer, readAhead, verify);
        }

        ArchiveIntegrity TrailerAtTheEnd()
        {
            var rest = new byte[1 << 16];
            while (raw.Read(rest) > 0)
            {
            }

            // The count was not reset on this path: it is every byte of the file.
            if (raw.BytesRead < 18)
            {
                throw new ReportMalformedException(source.Name, null, null, null, $"not a gzip file: {raw.BytesRead} bytes is shorter than the gzip header and trailer");
            }

            return Trailer(raw.Tail);
        }

        var integrity = ReadTrailer();
        raw.ResetCount();
        return Finish(raw, data, null, () => integrity, readAhead, verify);
    }

    private static CurDataStream Finish(
        CountingStream raw, Stream inflated, IDisposable? archive, Func<ArchiveIntegrity>? integrity, bool readAhead, bool verify)
    {
        var data = verify && integrity is not null ? new VerifyingStream(inflated, integrity) : inflated;
        return new CurDataStream(raw, readAhead ? new ReadAheadStream(data) : data, archive, verify ? null : integrity) { Inflater = inflated };
    }

    public void Dispose()
    {
        Data.Dispose();
        _archive?.Dispose();
        _raw.Dispose();
    }
}

/// <summary>The inflated length (mod 2^32 for gzip) and CRC-32 an archive promises for its content.</summary>
/// <param name="Hint">What else a mismatch can mean, appended to the error.</param>
internal sealed record ArchiveIntegrity(long Length, uint Crc, bool LengthModulo32, string What, string Hint = "")
{
    /// <summary>Throws when what was inflated does not match.</summary>
    public void Check(long length, uint crc)
    {
        var inflated = LengthModulo32 ? length & 0xFFFFFFFF : length;
        if (inflated != Length)
        {
            throw new CorruptArchiveException($"{What} is truncated or corrupt: inflated {length} bytes, the archive says {Length}{Hint}");
        }

        if (crc != Crc)
        {
            throw new CorruptArchiveException($"{What} is corrupt: CRC-32 {crc:x8} of the inflated data, the archive says {Crc:x8}{Hint}");
        }
    }
}
