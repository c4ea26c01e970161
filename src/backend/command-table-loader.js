import { CommandTable } from '../commands/command-table.js';
// Reads Redis's COMMAND reply into the CommandTable (what each command reads and writes,
// and its flags) on every new connection of a link, before the link reports up: so the
// table is there before anything is filled, and a Redis restarted as another version (or
// with other modules) is read again.
//
// One loader per backend: it keeps no per-connection state, so a cluster router may add
// the same loader to every node's link (nodes of one deployment run the same commands;
// the last one read wins). A refused or malformed COMMAND rejects, which drops the link's
// connection and retries it: the proxy does not fill without knowing what writes what.
export class CommandTableLoader {
    /** the last table read, null before the first */
    table = null;
    onTable;
    constructor(onTable) {
        this.onTable = onTable;
    }
    async attach(conn) {
        const table = CommandTable.fromCommandReply(await conn.send(['COMMAND']));
        this.table = table;
        this.onTable?.(table);
    }
    detach() {
        // the table outlives the connection it was read on: commands do not change with it
    }
}
//# sourceMappingURL=command-table-loader.js.map