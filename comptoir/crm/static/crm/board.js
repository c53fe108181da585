/* Kanban of the opportunities: drag a card to another column (SortableJS); the drop POSTs the move with
   HTMX and the server answers with the whole board (counts, totals, positions). Moving to "lost" asks for
   the reason first. Keyboard users change the stage with the <select> of each card. */
(function () {
  "use strict";

  var LOST = "lost";
  var pending = null; // {id, stage, position} waiting for a lost reason

  function moveUrl(board, id) {
    return board.dataset.moveUrlTemplate.replace(/0\/move\/$/, id + "/move/");
  }

  function reloadBoard() {
    htmx.ajax("GET", window.location.pathname, { target: "#board", swap: "outerHTML" });
  }

  function send(id, stage, position, lostReason) {
    var board = document.getElementById("board");
    htmx.ajax("POST", moveUrl(board, id), {
      target: "#board",
      swap: "outerHTML",
      values: { stage: stage, position: position, lost_reason: lostReason || "" },
    });
  }

  function askLostReason(id, position) {
    var modalElement = document.getElementById("lost-modal");
    pending = { id: id, stage: LOST, position: position, sent: false };
    document.getElementById("lost-modal-reason").value = "";
    bootstrap.Modal.getOrCreateInstance(modalElement).show();
  }

  function initBoard(root) {
    var board = root.id === "board" ? root : root.querySelector && root.querySelector("#board");
    if (!board || board.dataset.canMove !== "1" || typeof Sortable === "undefined") {
      return;
    }
    board.querySelectorAll(".kanban-cards").forEach(function (list) {
      Sortable.create(list, {
        group: "opportunities",
        animation: 150,
        filter: "select, input, button, label",
        preventOnFilter: false,
        onEnd: function (event) {
          var stage = event.to.dataset.stage;
          var id = event.item.dataset.id;
          if (event.from === event.to && event.oldIndex === event.newIndex) {
            return;
          }
          if (stage === LOST && event.from !== event.to) {
            askLostReason(id, event.newIndex);
          } else {
            send(id, stage, event.newIndex, "");
          }
        },
      });
    });
    board.querySelectorAll(".stage-select").forEach(function (select) {
      select.addEventListener("change", function () {
        var reason = select.closest("form").querySelector(".lost-reason");
        if (reason) {
          reason.classList.toggle("d-none", select.value !== LOST);
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("lost-modal-form");
    var modalElement = document.getElementById("lost-modal");
    if (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var reason = document.getElementById("lost-modal-reason").value.trim();
        if (!reason || !pending) {
          document.getElementById("lost-modal-reason").focus();
          return;
        }
        pending.sent = true;
        send(pending.id, pending.stage, pending.position, reason);
        bootstrap.Modal.getOrCreateInstance(modalElement).hide();
      });
      modalElement.addEventListener("hidden.bs.modal", function () {
        if (pending && !pending.sent) {
          reloadBoard(); // cancelled: put the card back where the server has it
        }
        pending = null;
      });
    }
  });

  htmx.onLoad(initBoard);
})();
