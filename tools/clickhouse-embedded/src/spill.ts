import { rmSync } from "node:fs";
import { join } from "node:path";

/**
 * A `wait_end_of_query=1` answer past what is held in memory: as a server's temporary file, the
 * rest of the result waits on disk (the spool folder) until the query has ended, then goes out
 * after the part in memory. The file is removed when the body was read, failed or was dropped.
 */
export function spill(spoolDir: string) {
  const path = join(spoolDir, `${crypto.randomUUID()}.result`);
  const writer = Bun.file(path).writer();
  let bytes = 0;
  const remove = () => rmSync(path, { force: true });
  return {
    get bytes() {
      return bytes;
    },
    write(chunk: Uint8Array) {
      writer.write(chunk);
      bytes += chunk.byteLength;
    },
    /** Drops what was written (the query failed). */
    async discard() {
      await Promise.resolve(writer.end()).catch(() => {});
      remove();
    },
    /** The whole answer: `head` from memory, then the file. */
    async body(head: Uint8Array[]): Promise<ReadableStream<Uint8Array>> {
      await writer.end();
      const file = Bun.file(path).stream().getReader();
      let removed = false;
      const done = () => {
        if (removed) return;
        removed = true;
        remove();
      };
      return new ReadableStream<Uint8Array>({
        start(controller) {
          for (const chunk of head) controller.enqueue(chunk);
        },
        async pull(controller) {
          try {
            const next = await file.read();
            if (next.done) {
              done();
              controller.close();
            } else controller.enqueue(next.value);
          } catch (err) {
            done();
            controller.error(err);
          }
        },
        async cancel() {
          await file.cancel().catch(() => {});
          done();
        },
      });
    },
  };
}
