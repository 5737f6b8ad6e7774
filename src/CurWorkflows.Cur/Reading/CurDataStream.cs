using System.Buffers.Binary;
using System.IO.Compression;

namespace CurWorkflows.Cur.Reading;

/// <summary>The decompressed CSV bytes of a <see cref="CurSource"/>, with the count of compressed bytes read so far.</summary>
internal sealed class CurDataStream : IDisposable
{
    private readonly CountingStream _raw;
    private readonly IDisposable? _archive;

    private CurDataStream(CountingStream raw, Stream data, IDisposable? archive, ArchiveIntegrity? integrity = null)
    {
        _raw = raw;
        Data = data;
        _archive = archive;
        Integrity = integrity;
    }

    public Stream Data { get; }

    /// <summary>What the inflated data must match, when the caller checks it itself (opened without verifying).</summary>
    public ArchiveIntegrity? Integrity { get; }

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

            if (Integrity is not null)
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

        ZipArchive archive;
        try
        {
            archive = new ZipArchive(raw, ZipArchiveMode.Read, leaveOpen: true);
        }
        catch (InvalidDataException e)
        {
            throw new ReportMalformedException(source.Name, null, null, null, $"not a readable zip archive: {e.Message}", e);
        }

        try
        {
            if (archive.Entries.Count != 1)
            {
                throw new ReportMalformedException(
                    source.Name, null, null, null, $"a CUR zip must hold exactly one CSV entry, this one holds {archive.Entries.Count}");
            }

            var entry = archive.Entries[0];
            Stream entryStream;
            try
            {
                entryStream = entry.Open();
            }
            catch (InvalidDataException e)
            {
                throw new ReportMalformedException(source.Name, null, null, null, $"zip entry '{entry.FullName}' cannot be opened: {e.Message}", e);
            }

            raw.ResetCount();
            if (!verify)
            {
                return new CurDataStream(raw, entryStream, archive, new ArchiveIntegrity(entry.Length, entry.Crc32, LengthModulo32: false, $"zip entry '{entry.FullName}'"));
            }

            Stream data = new VerifyingStream(entryStream, entry.Length, entry.Crc32, lengthModulo32: false, $"zip entry '{entry.FullName}'");
            if (readAhead)
            {
                data = new ReadAheadStream(data);
            }

            return new CurDataStream(raw, data, archive);
        }
        catch
        {
            archive.Dispose();
            throw;
        }
    }

    private static CurDataStream OpenGzip(CurSource source, CountingStream raw, bool readAhead, bool verify)
    {
        Stream data = new GZipStream(raw, CompressionMode.Decompress, leaveOpen: true);
        ArchiveIntegrity? integrity = null;
        if (raw.CanSeek)
        {
            // A single-member gzip (what AWS writes) ends with CRC-32 and length mod 2^32 of the whole content.
            if (raw.Length < 18)
            {
                throw new ReportMalformedException(source.Name, null, null, null, $"not a gzip file: {raw.Length} bytes is shorter than the gzip header and trailer");
            }

            Span<byte> trailer = stackalloc byte[8];
            raw.Seek(-8, SeekOrigin.End);
            raw.ReadExactly(trailer);
            raw.Seek(0, SeekOrigin.Begin);
            raw.ResetCount();
            var length = BinaryPrimitives.ReadUInt32LittleEndian(trailer[4..]);
            var crc = BinaryPrimitives.ReadUInt32LittleEndian(trailer);
            if (verify)
            {
                data = new VerifyingStream(data, length, crc, lengthModulo32: true, "gzip data");
            }
            else
            {
                integrity = new ArchiveIntegrity(length, crc, LengthModulo32: true, "gzip data");
            }
        }

        if (readAhead)
        {
            data = new ReadAheadStream(data);
        }

        return new CurDataStream(raw, data, null, integrity);
    }

    public void Dispose()
    {
        Data.Dispose();
        _archive?.Dispose();
        _raw.Dispose();
    }
}

/// <summary>The inflated length (mod 2^32 for gzip) and CRC-32 an archive promises for its content.</summary>
internal sealed record ArchiveIntegrity(long Length, uint Crc, bool LengthModulo32, string What)
{
    /// <summary>Throws when what was inflated does not match.</summary>
    public void Check(long length, uint crc)
    {
        var inflated = LengthModulo32 ? length & 0xFFFFFFFF : length;
        if (inflated != Length)
        {
            throw new CorruptArchiveException($"{What} is truncated or corrupt: inflated {length} bytes, the archive says {Length}");
        }

        if (crc != Crc)
        {
            throw new CorruptArchiveException($"{What} is corrupt: CRC-32 {crc:x8} of the inflated data, the archive says {Crc:x8}");
        }
    }
}
