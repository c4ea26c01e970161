// A FIFO (what a client waits for, what a connection owes whom): an array with a head
// index (no shift()), compacted when the consumed prefix grows large.
export class Fifo {
    items = [];
    head = 0;
    get length() {
        return this.items.length - this.head;
    }
    peek() {
        return this.items[this.head];
    }
    last() {
        return this.items.length > this.head ? this.items[this.items.length - 1] : undefined;
    }
    push(item) {
        this.items.push(item);
    }
    shift() {
        if (this.head >= this.items.length)
            return undefined;
        const item = this.items[this.head];
        this.items[this.head++] = undefined;
        if (this.head === this.items.length) {
            this.items.length = 0;
            this.head = 0;
        }
        else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
            this.items = this.items.slice(this.head);
            this.head = 0;
        }
        return item;
    }
    /** Take everything still waiting, oldest first. */
    drain() {
        const rest = this.items.slice(this.head);
        this.items.length = 0;
        this.head = 0;
        return rest;
    }
}
//# sourceMappingURL=fifo.js.map